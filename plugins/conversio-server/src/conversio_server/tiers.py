"""Service tiers: requests per minute, concurrent jobs, largest file, conversions per month.

The defaults are the guide's table; a TOML or JSON file (or JSON text) can change them or
add tiers: ``{"free": {"requests_per_minute": 20}, "team": {"requests_per_minute": 120, …}}``
(in TOML, ``[free]`` tables, optionally under a ``[tiers]`` table). ``None`` (JSON
``null``, or the string ``"unlimited"``) means no limit.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from conversio.errors import InvalidOption

MB = 1000 * 1000
ENV_TIERS = "CONVERSIO_SERVER_TIERS"


def _limit(_: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise InvalidOption(f"tier {attribute.name} must be a positive integer or unlimited, not {value!r}")


@attrs.frozen(kw_only=True)
class Tier:
    """One tier's limits; ``None`` is unlimited."""

    name: str
    requests_per_minute: int | None = attrs.field(default=None, validator=_limit)
    concurrent_jobs: int | None = attrs.field(default=None, validator=_limit)
    max_file_bytes: int | None = attrs.field(default=None, validator=_limit)
    monthly_conversions: int | None = attrs.field(default=None, validator=_limit)


DEFAULT_TIERS: Mapping[str, Tier] = {
    "free": Tier(
        name="free",
        requests_per_minute=10,
        concurrent_jobs=2,
        max_file_bytes=25 * MB,
        monthly_conversions=100,
    ),
    "starter": Tier(
        name="starter",
        requests_per_minute=60,
        concurrent_jobs=5,
        max_file_bytes=100 * MB,
        monthly_conversions=1000,
    ),
    "professional": Tier(
        name="professional",
        requests_per_minute=300,
        concurrent_jobs=20,
        max_file_bytes=500 * MB,
        monthly_conversions=10_000,
    ),
    "enterprise": Tier(name="enterprise"),
}

#: The tier of the local principal in development mode.
UNLIMITED = Tier(name="unlimited")

_FIELDS = ("requests_per_minute", "concurrent_jobs", "max_file_bytes", "monthly_conversions")


def _value(tier: str, field: str, raw: Any) -> int | None:
    if raw is None or (isinstance(raw, str) and raw.strip().lower() == "unlimited"):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise InvalidOption(f"tier {tier!r}: {field} must be a positive integer or unlimited, not {raw!r}")


def tiers_from_mapping(data: Mapping[str, Any], base: Mapping[str, Tier] = DEFAULT_TIERS) -> dict[str, Tier]:
    """``base`` with the tiers of ``data`` changed or added (fields not given keep their value)."""
    section = data.get("tiers", data)
    if not isinstance(section, Mapping):
        raise InvalidOption("the tiers configuration must be a table of tiers")
    result = dict(base)
    for name, fields in section.items():
        if not isinstance(fields, Mapping):
            raise InvalidOption(f"tier {name!r} must be a table of limits")
        unknown = set(fields) - set(_FIELDS)
        if unknown:
            raise InvalidOption(f"tier {name!r}: unknown limits {sorted(unknown)}; known: {list(_FIELDS)}")
        current = result.get(name, Tier(name=name))
        changes: dict[str, Any] = {field: _value(name, field, raw) for field, raw in fields.items()}
        result[name] = attrs.evolve(current, **changes)
    return result


def load_tiers(source: str | Path | Mapping[str, Any] | None = None) -> dict[str, Tier]:
    """The tiers: defaults, changed by ``source`` or else by ``$CONVERSIO_SERVER_TIERS``.

    ``source`` is a mapping, a ``.toml``/``.json`` file, or JSON text.
    """
    if source is None:
        source = os.environ.get(ENV_TIERS) or None
    if source is None:
        return dict(DEFAULT_TIERS)
    if isinstance(source, Mapping):
        return tiers_from_mapping(source)
    text = str(source).strip()
    try:
        if text.startswith("{"):
            return tiers_from_mapping(json.loads(text))
        path = Path(text).expanduser()
        if path.suffix.lower() == ".toml":
            return tiers_from_mapping(tomllib.loads(path.read_text(encoding="utf-8")))
        return tiers_from_mapping(json.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise InvalidOption(f"cannot read the tiers file {text!r}: {exc.strerror}") from None
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise InvalidOption(f"the tiers configuration {text[:80]!r} is not valid: {exc}") from None
