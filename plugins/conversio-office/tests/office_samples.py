"""Small office documents written by hand (zipfile + XML), so the tests need no fixtures on disk."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from conversio.testing.documents import PAGE_BREAK, docx_package, paragraph

_IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"


def write_docx(path: Path, pages: list[str], linked_images: tuple[str, ...] = ()) -> Path:
    """A docx with one paragraph per page (page breaks between) and images linked (not embedded)."""
    body = []
    for i, text in enumerate(pages):
        if i:
            body.append(PAGE_BREAK)
        body.append(paragraph(text))
    rels = [
        f'<Relationship Id="rImg{n}" Type="{_IMAGE_REL}" Target={quoteattr(url)} TargetMode="External"/>'
        for n, url in enumerate(linked_images, start=1)
    ]
    body += [_linked_picture(n) for n in range(1, len(linked_images) + 1)]
    path.write_bytes(docx_package(body, relationships=rels, namespaces=_DRAWING_NS))
    return path


_DRAWING_NS = (
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"'
)


def _linked_picture(n: int) -> str:
    size = 'cx="914400" cy="914400"'
    return (
        f'<w:p><w:r><w:drawing><wp:inline><wp:extent {size}/><wp:docPr id="{n}" name="linked{n}"/>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        f'<pic:pic><pic:nvPicPr><pic:cNvPr id="{n}" name="linked{n}"/><pic:cNvPicPr/></pic:nvPicPr>'
        f'<pic:blipFill><a:blip r:link="rImg{n}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
        f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext {size}/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>'
        "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
    )


_ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:presentation="urn:oasis:names:tc:opendocument:xmlns:presentation:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" '
    'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" office:version="1.2"'
)


def _write_odf(
    path: Path, mimetype: str, body: str, automatic_styles: str = "", extra: dict[str, str] | None = None
) -> Path:
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {_ODF_NS}>'
        f"<office:automatic-styles>{automatic_styles}</office:automatic-styles>"
        f"<office:body>{body}</office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        + "".join(
            f'<manifest:file-entry manifest:full-path="{name}" manifest:media-type="text/xml"/>'
            for name in extra or {}
        )
        + "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", manifest)
        zf.writestr("content.xml", content)
        for name, text in (extra or {}).items():
            zf.writestr(name, text)
    return path


def write_odt(path: Path, pages: list[str], linked_images: tuple[str, ...] = ()) -> Path:
    """An odt with one paragraph per page and images linked by URL."""
    paragraphs = [
        f'<text:p text:style-name="{"Break" if i else "Standard"}">{escape(text)}</text:p>'
        for i, text in enumerate(pages)
    ]
    for n, url in enumerate(linked_images, start=1):
        paragraphs.append(
            f'<text:p><draw:frame draw:name="linked{n}" text:anchor-type="as-char" svg:width="3cm" '
            f'svg:height="3cm"><draw:image xlink:href={quoteattr(url)} xlink:type="simple" '
            'xlink:show="embed" xlink:actuate="onLoad"/></draw:frame></text:p>'
        )
    style = (
        '<style:style style:name="Break" style:family="paragraph">'
        '<style:paragraph-properties fo:break-before="page"/></style:style>'
    )
    body = f"<office:text>{''.join(paragraphs)}</office:text>"
    return _write_odf(path, "application/vnd.oasis.opendocument.text", body, style)


def write_ods(path: Path, sheets: dict[str, list[list[str]]], formula: str = "") -> Path:
    """An ods of string cells; ``formula`` (ODF syntax) goes into the first sheet's A1, cached as "cached"."""
    tables = []
    for s, (name, rows) in enumerate(sheets.items()):
        xml_rows = []
        for r, row in enumerate(rows):
            cells = []
            for c, value in enumerate(row):
                if formula and s == 0 and r == 0 and c == 0:
                    cells.append(
                        f'<table:table-cell table:formula={quoteattr(formula)} office:value-type="string" '
                        'office:string-value="cached"><text:p>cached</text:p></table:table-cell>'
                    )
                else:
                    cells.append(
                        f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p>'
                        "</table:table-cell>"
                    )
            xml_rows.append(f"<table:table-row>{''.join(cells)}</table:table-row>")
        tables.append(f"<table:table table:name={quoteattr(name)}>{''.join(xml_rows)}</table:table>")
    body = f"<office:spreadsheet>{''.join(tables)}</office:spreadsheet>"
    return _write_odf(path, "application/vnd.oasis.opendocument.spreadsheet", body)


_LIBRARY_DTD = '<!DOCTYPE {0} PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "{1}.dtd">'
_LIBRARY_NS = 'xmlns:library="http://openoffice.org/2000/library"'


def write_ods_with_macro(path: Path, marker: Path) -> Path:
    """An ods whose A1 calls ``MARK()``, a Basic function stored in the document that writes ``marker``.

    LibreOffice recalculates a spreadsheet written by another program when it loads it,
    so the macro runs on load wherever document macros are allowed to run.
    """
    basic = (
        "Function MARK() As Integer\n  Dim n As Integer\n  n = FreeFile\n"
        f'  Open "{marker}" For Output As #n\n  Print #n, "macro ran"\n  Close #n\n'
        "  MARK = 42\nEnd Function\n"
    )
    extra = {
        "Basic/script-lc.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            + _LIBRARY_DTD.format("library:libraries", "libraries")
            + f'<library:libraries {_LIBRARY_NS} xmlns:xlink="http://www.w3.org/1999/xlink">'
            '<library:library library:name="Standard" library:link="false"/></library:libraries>'
        ),
        "Basic/Standard/script-lb.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            + _LIBRARY_DTD.format("library:library", "library")
            + f'<library:library {_LIBRARY_NS} library:name="Standard" library:readonly="false" '
            'library:passwordprotected="false"><library:element library:name="Module1"/></library:library>'
        ),
        "Basic/Standard/Module1.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            + _LIBRARY_DTD.format("script:module", "module")
            + '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" '
            f'script:language="StarBasic">{escape(basic)}</script:module>'
        ),
    }
    body = (
        '<office:spreadsheet><table:table table:name="S"><table:table-row>'
        '<table:table-cell table:formula="of:=MARK()" office:value-type="float" office:value="0">'
        "<text:p>0</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet>"
    )
    return _write_odf(path, "application/vnd.oasis.opendocument.spreadsheet", body, extra=extra)


def write_odp(path: Path, slides: list[str]) -> Path:
    """An odp with one text box per slide."""
    pages = "".join(
        f'<draw:page draw:name="s{i}"><draw:frame svg:x="2cm" svg:y="2cm" svg:width="20cm" svg:height="3cm">'
        f"<draw:text-box><text:p>{escape(text)}</text:p></draw:text-box></draw:frame></draw:page>"
        for i, text in enumerate(slides, start=1)
    )
    body = f"<office:presentation>{pages}</office:presentation>"
    return _write_odf(path, "application/vnd.oasis.opendocument.presentation", body)


def odp_slide_count(path: Path) -> int:
    with zipfile.ZipFile(path) as zf:
        return zf.read("content.xml").count(b"<draw:page ")


RTF = b"{\\rtf1\\ansi{\\fonttbl\\f0 Helvetica;}\\f0 Hello from RTF\\par Second line\\par}"
CSV = "name,count\nalpha,1\nbeta,2\ngamma \u00e9,3\n"
TEXT_PAGES = ["first page text", "second page text", "third page text"]
_CACHE: dict[str, bytes] = {}
#: Formats written by LibreOffice itself from a hand-written one: (made from, with converter).
_DERIVED = {"doc": "docx", "xlsx": "ods", "xls": "ods", "pptx": "odp", "ppt": "odp"}


def sample_file(fmt: str, folder: Path) -> Path:
    """A small valid document of ``fmt`` in ``folder`` (the LibreOffice-made ones are made once)."""
    path = folder / f"sample.{fmt}"
    if fmt in _CACHE:
        path.write_bytes(_CACHE[fmt])
        return path
    if fmt == "docx":
        write_docx(path, TEXT_PAGES)
    elif fmt == "odt":
        write_odt(path, TEXT_PAGES)
    elif fmt == "ods":
        write_ods(path, {"Numbers": [["a", "b"], ["1", "2"]], "More": [["x"]]})
    elif fmt == "odp":
        write_odp(path, ["slide one", "slide two"])
    elif fmt == "rtf":
        path.write_bytes(RTF)
    elif fmt == "csv":
        path.write_text(CSV, encoding="utf-8")
    elif fmt == "txt":
        path.write_text("plain text\nsecond line\n", encoding="utf-8")
    elif fmt == "html":
        path.write_text("<html><body><h1>Title</h1><p>Some <b>bold</b> text.</p></body></html>")
    else:
        made = _derive(fmt, folder)
        path.write_bytes(made)
    _CACHE[fmt] = path.read_bytes()
    return path


def _derive(fmt: str, folder: Path) -> bytes:
    from conversio.testing import make_conversio

    origin = sample_file(_DERIVED[fmt], folder)
    app = make_conversio("conversio_office.plugin", cache=False)
    try:
        result = app.convert(origin, to=fmt).run()
        [artifact] = result.artifacts
        return app.store.open(artifact.id).read()
    finally:
        app.close()
