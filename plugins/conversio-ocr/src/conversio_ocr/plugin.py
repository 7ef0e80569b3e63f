"""Hook implementations of conversio-ocr, and nothing else (no engine is imported here)."""

from __future__ import annotations
