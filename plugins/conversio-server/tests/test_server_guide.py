"""The server's guide (its README, from which docs/how-to/serve.md is generated) says what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import attrs
from conversio_server.settings import ServerSettings
from conversio_server.tiers import DEFAULT_TIERS, MB

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
#: Settings made of others, configured their own way (documented in sections of their own).
COMPOSED = {"auth": "API keys", "outbound": "url_allow"}


def _table_after(heading: str) -> list[list[str]]:
    """The rows of the first table after ``heading``, as cells."""
    section = README.split(heading, 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]  # header and separator


def test_the_settings_table_lists_every_setting() -> None:
    documented = {
        name for row in _table_after("Every setting is a flag") for name in re.findall(r"`(\w+)`", row[0])
    }
    fields = {field.name for field in attrs.fields(ServerSettings)}
    assert fields - set(COMPOSED) - documented == set(), "settings missing from the README's table"
    assert documented - fields == set(), "the README's table names settings that do not exist"
    assert all(words in README for words in COMPOSED.values())


def test_the_default_tiers_are_those_the_guide_shows() -> None:
    def shown(value: int | None, unit: int = 1) -> str:
        return (
            "unlimited"
            if value is None
            else f"{value // unit:,}".replace(",", " ") + (" MB" if unit > 1 else "")
        )

    rows = {row[0].strip("`"): row[1:] for row in _table_after("### Tiers")}
    assert set(rows) == set(DEFAULT_TIERS)
    for name, tier in DEFAULT_TIERS.items():
        expected = [
            shown(tier.requests_per_minute),
            shown(tier.concurrent_jobs),
            shown(tier.max_file_bytes, MB),
            shown(tier.monthly_conversions),
        ]
        assert rows[name] == expected, name
