"""conversio-pandoc: Markdown, reStructuredText, HTML, Word, OpenDocument, EPUB, LaTeX, Org,
Textile and AsciiDoc to each other, through Pandoc."""
