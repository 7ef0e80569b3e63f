"""Hook implementations of conversio-pdf2docx, and nothing else (no engine is imported here)."""

from __future__ import annotations
