"""conversio-pdf2docx: PDF to editable Word documents, and PDF tables to Excel, with pdf2docx."""
