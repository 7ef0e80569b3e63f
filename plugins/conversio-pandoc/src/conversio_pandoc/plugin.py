"""Hook implementations of conversio-pandoc, and nothing else (no engine is imported here)."""

from __future__ import annotations
