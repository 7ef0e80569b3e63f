"""conversio-ocr: work in progress (issue 21)."""
