"""conversio-pdf: PDF rasterising, text, images to PDF and structure operations."""
