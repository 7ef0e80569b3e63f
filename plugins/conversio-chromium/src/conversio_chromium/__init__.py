"""conversio-chromium: web pages, HTML and Markdown to PDF and screenshots with headless Chromium."""
