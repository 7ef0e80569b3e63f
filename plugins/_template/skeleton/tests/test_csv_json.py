"""Tests of the csv -> json converter: the shared contract, then its own behaviour."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import conversio
from conversio.errors import ConversioError
from conversio.testing import ConverterContract, make_conversio

PLUGIN = "conversio_{{name}}.plugin"
SAMPLE = "city,country,population\nLyon,France,522250\nKraków,Poland,800653\n"


class TestCsvToJsonContract(ConverterContract):
    """The checks every converter passes (registration, sample, empty and corrupt input)."""

    plugin = PLUGIN
    converter_id = "{{name}}.stdlib:csv->json"
    heavy_modules = ("conversio_{{name}}.csv_json",)  # the converter must load lazily

    def make_sample(self, tmp_path: Path) -> Path:
        path = tmp_path / "cities.csv"
        path.write_text(SAMPLE, encoding="utf-8")
        return path


@pytest.fixture
def app() -> conversio.Conversio:
    return make_conversio(PLUGIN)


def convert(app: conversio.Conversio, path: Path, **options: object) -> object:
    result = app.convert(path, to="json", options=options).run()
    return json.loads(result.read_bytes())


def test_rows_become_objects(app: conversio.Conversio, tmp_path: Path) -> None:
    path = tmp_path / "cities.csv"
    path.write_text(SAMPLE, encoding="utf-8")
    assert convert(app, path) == [
        {"city": "Lyon", "country": "France", "population": "522250"},
        {"city": "Kraków", "country": "Poland", "population": "800653"},
    ]


def test_delimiter_option_quotes_and_short_rows(app: conversio.Conversio, tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('id;note\n1;"semi;colon ""quoted"""\n\n2\n', encoding="utf-8")
    assert convert(app, path, delimiter=";") == [
        {"id": "1", "note": 'semi;colon "quoted"'},
        {"id": "2", "note": None},
    ]


def test_header_only_gives_an_empty_list(app: conversio.Conversio, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("a,b\n", encoding="utf-8")
    assert convert(app, path) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b\n1,2,3\n", "3 cells for 2 columns"),
        ("a,a\n1,2\n", "duplicate column names a"),
        ('a,b\n1,"open quote\n', "line"),
    ],
)
def test_malformed_csv_is_corrupt(
    app: conversio.Conversio, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConversioError) as info:
        convert(app, path)
    assert info.value.code == "CORRUPT_FILE"
    assert message in info.value.message


def test_unknown_option_is_rejected(app: conversio.Conversio, tmp_path: Path) -> None:
    path = tmp_path / "cities.csv"
    path.write_text(SAMPLE, encoding="utf-8")
    with pytest.raises(ConversioError) as info:
        convert(app, path, quote="'")
    assert info.value.code == "INVALID_OPTION"
