"""conversio-pdf2docx: PDF to editable Word documents with pdf2docx (PyMuPDF)."""
