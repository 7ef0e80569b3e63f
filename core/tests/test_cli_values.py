"""Option values on the command line: ``@file``, ``@@``, and commas inside ``--then`` values."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from conversio.cli import cli
from conversio.cli_values import MAX_FILE_BYTES, parse_pairs, parse_then
from conversio.errors import ConversioError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zip", ("zip", {})),
        ("resize:width=200,height=100,", ("resize", {"width": "200", "height": "100"})),
        (
            'watermark:text="Hello, world",opacity=0.5',
            ("watermark", {"text": "Hello, world", "opacity": "0.5"}),
        ),
        ('watermark:text="say \\"hi\\""', ("watermark", {"text": 'say "hi"'})),
        (
            'fill:data={"name": "Lovelace, Ada", "agree": true}, flatten=true',
            ("fill", {"data": '{"name": "Lovelace, Ada", "agree": true}', "flatten": "true"}),
        ),
        ('encrypt:permissions="print,copy"', ("encrypt", {"permissions": "print,copy"})),
        ("x:pages=[1-3],b=1", ("x", {"pages": "[1-3]", "b": "1"})),  # not JSON: plain up to a comma
        ("x:a={b}", ("x", {"a": "{b}"})),
        ("encrypt:user_password=@@secret", ("encrypt", {"user_password": "@secret"})),
        ('x:text="@not-a-file"', ("x", {"text": "@not-a-file"})),
    ],
)
def test_then_values(text: str, expected: tuple[str, dict[str, str]]) -> None:
    assert parse_then(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("resize:width=2,oops", "'oops' is not key=value"),
        ('watermark:text="open', "quoted value is not closed"),
        ('watermark:text="a"b', "a comma must follow"),
    ],
)
def test_malformed_then_values_are_refused(text: str, words: str) -> None:
    with pytest.raises(ConversioError) as caught:
        parse_then(text)
    assert caught.value.code == "INVALID_REQUEST" and words in caught.value.message


def test_at_reads_a_utf8_file_for_then_and_dash_o(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("fields.json").write_bytes('\ufeff{"name": "Zoë, A", "ok": true}\n'.encode())
    Path("pw").write_text("s3cret\r\n")
    assert parse_then("fill:data=@fields.json,password=@pw") == (
        "fill",
        {"data": '{"name": "Zoë, A", "ok": true}', "password": "s3cret"},
    )
    assert parse_pairs(["data=@fields.json", "note=@@home"], "-O") == {
        "data": '{"name": "Zoë, A", "ok": true}',
        "note": "@home",
    }


@pytest.mark.parametrize(
    ("make", "name", "words"),
    [
        (None, "missing.json", "'missing.json' does not exist"),
        ("folder", "folder", "is a folder"),
        ("big", "big.json", f"larger than {MAX_FILE_BYTES // 1024} KiB"),
        ("latin", "latin.txt", "is not UTF-8"),
        (None, "", "is not named"),
    ],
)
def test_unreadable_value_files_are_invalid_options_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: str | None, name: str, words: str
) -> None:
    monkeypatch.chdir(tmp_path)
    if make == "folder":
        Path(name).mkdir()
    elif make == "big":
        Path(name).write_bytes(b" " * (MAX_FILE_BYTES + 1))
    elif make == "latin":
        Path(name).write_bytes("café".encode("latin-1"))
    for parse in (lambda: parse_then(f"fill:data=@{name}"), lambda: parse_pairs([f"data=@{name}"], "-O")):
        with pytest.raises(ConversioError) as caught:
            parse()
        assert (caught.value.code, caught.value.details["option"]) == ("INVALID_OPTION", "data")
        assert words in caught.value.message


def test_the_cli_reports_an_unreadable_value_file_before_converting(tmp_path: Path) -> None:
    source = tmp_path / "form.pdf"
    source.write_bytes(b"%PDF-1.4\n")
    for flag in (["--then", "fill:data=@nothere.json"], ["-O", "data=@nothere.json"]):
        done = CliRunner().invoke(cli, ["convert", str(source), "--to", "pdf", *flag, "--json"])
        assert done.exit_code == 2, done.output
        assert '"INVALID_OPTION"' in done.output and "nothere.json" in done.output


def test_convert_needs_a_target_or_steps(tmp_path: Path) -> None:
    source = tmp_path / "a.pdf"
    source.write_bytes(b"%PDF-1.4\n")
    done = CliRunner().invoke(cli, ["convert", str(source), "--json"])
    assert done.exit_code == 2, done.output
    assert '"INVALID_REQUEST"' in done.output and "--to" in done.output and "--then" in done.output
