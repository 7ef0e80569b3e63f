"""conversio-office: office documents to PDF and between editable formats, with LibreOffice."""
