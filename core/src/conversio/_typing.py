"""Typed converters for attrs fields (a generic one like ``tuple`` confuses mypy's attrs plugin)."""

from __future__ import annotations

from collections.abc import Iterable


def str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    """``tuple(values)`` for strings."""
    return tuple(values)


def lower(value: str) -> str:
    """``value.lower()`` (a named function, as mypy's attrs plugin wants)."""
    return value.lower()
