"""conversio-pdf2docx: work in progress (issue 21)."""
