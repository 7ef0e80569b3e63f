"""Word documents written by hand (a zip of WordprocessingML parts), for tests, benchmarks and the
bundled samples: no office suite and no fixture files needed.

Every package has an A4 page with 2 cm margins (the page size must not depend on the locale) and
fixed zip dates, so the same body always gives the same bytes (its parts are stored, not deflated).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from xml.sax.saxutils import escape

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

#: A paragraph holding only a page break.
PAGE_BREAK = '<w:p><w:r><w:br w:type="page"/></w:r></w:p>'

_A4 = (
    '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
    '<w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134"/></w:sectPr>'
)
_ZIP_DATE = (2024, 1, 1, 12, 0, 0)
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_CONTENT_TYPES = (
    f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_PACKAGE_RELS = (
    f'{_XML}<Relationships xmlns="{REL_NS}">'
    f'<Relationship Id="rId1" Type="{R_NS}/officeDocument" Target="word/document.xml"/></Relationships>'
)


def paragraph(text: str) -> str:
    """A paragraph of plain ``text`` (escaped)."""
    return f"<w:p><w:r><w:t>{escape(text)}</w:t></w:r></w:p>"


def docx_package(body: Sequence[str], *, relationships: Sequence[str] = (), namespaces: str = "") -> bytes:
    """A .docx whose body is the given WordprocessingML blocks (``<w:p>``, ``<w:tbl>``).

    ``relationships`` are ``<Relationship …/>`` elements of the document part (images, links);
    ``namespaces`` extra ``xmlns:…`` declarations the body uses (``w`` and ``r`` are declared).
    """
    document = (
        f'{_XML}<w:document xmlns:w="{W_NS}" xmlns:r="{R_NS}"{" " + namespaces if namespaces else ""}>'
        f"<w:body>{''.join(body)}{_A4}</w:body></w:document>"
    )
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _PACKAGE_RELS,
        "word/document.xml": document,
    }
    if relationships:
        parts["word/_rels/document.xml.rels"] = (
            f'{_XML}<Relationships xmlns="{REL_NS}">{"".join(relationships)}</Relationships>'
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_DATE), text)
    return buffer.getvalue()


def pages_docx(pages: Sequence[str]) -> bytes:
    """A .docx with one paragraph of plain text a page (page breaks between)."""
    body: list[str] = []
    for number, text in enumerate(pages):
        if number:
            body.append(PAGE_BREAK)
        body.append(paragraph(text))
    return docx_package(body)
