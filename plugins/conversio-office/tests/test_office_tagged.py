"""Tagged PDF and PDF/UA from LibreOffice, read back with pikepdf: the structure tree's headings,
paragraphs, table and figure, the language, the title shown, the PDF/UA identification; a
picture without alternative text is refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from conversio_office.tagging import tagging_problems
from PIL import Image

import conversio
from conversio.errors import ConversioError
from conversio.testing.documents import R_NS, docx_package, paragraph

_NS = (
    'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
    'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"'
)
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="{_W}">'
    + "".join(
        f'<w:style w:type="paragraph" w:styleId="Heading{n}"><w:name w:val="heading {n}"/>'
        f'<w:pPr><w:outlineLvl w:val="{n - 1}"/></w:pPr><w:rPr><w:b/><w:sz w:val="{36 - 4 * n}"/></w:rPr>'
        "</w:style>"
        for n in (1, 2)
    )
    + "</w:styles>"
)
_MORE_TYPES = (
    b'<Default Extension="png" ContentType="image/png"/><Override PartName="/word/styles.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>'
)
_RELATIONSHIPS = (
    f'<Relationship Id="rStyles" Type="{R_NS}/styles" Target="styles.xml"/>',
    f'<Relationship Id="rImg" Type="{R_NS}/image" Target="media/chart.png"/>',
    f'<Relationship Id="rLink" Type="{R_NS}/hyperlink" Target="https://example.org/" TargetMode="External"/>',
)


def _heading(text: str, level: int) -> str:
    return f'<w:p><w:pPr><w:pStyle w:val="Heading{level}"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>'


def _table(rows: list[list[str]]) -> str:
    cells = "".join(
        "<w:tr>" + "".join(f"<w:tc>{paragraph(cell)}</w:tc>" for cell in row) + "</w:tr>" for row in rows
    )
    grid = '<w:tblGrid><w:gridCol w:w="3000"/><w:gridCol w:w="3000"/></w:tblGrid>'
    return f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr>{grid}{cells}</w:tbl>'


def _picture(description: str) -> str:
    size, alt = 'cx="914400" cy="457200"', f' descr="{description}"' if description else ""
    return (
        f'<w:p><w:r><w:drawing><wp:inline><wp:extent {size}/><wp:docPr id="1" name="chart"{alt}/>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
        f'<pic:pic><pic:nvPicPr><pic:cNvPr id="1" name="chart"{alt}/><pic:cNvPicPr/></pic:nvPicPr>'
        '<pic:blipFill><a:blip r:embed="rImg"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
        f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext {size}/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>'
        "</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
    )


def report_docx(path: Path, description: str = "A red bar") -> Path:
    """A report with two heading levels, paragraphs, a 3×2 table, a picture and a link."""
    body = [
        _heading("Annual report", 1),
        paragraph("The first paragraph says hello."),
        _heading("Figures", 2),
        _table([["Name", "Count"], ["alpha", "1"], ["beta", "2"]]),
        _picture(description),
        '<w:p><w:hyperlink r:id="rLink"><w:r><w:t>our site</w:t></w:r></w:hyperlink></w:p>',
    ]
    package = docx_package(body, relationships=_RELATIONSHIPS, namespaces=_NS)
    chart = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 0, 0)).save(chart, "PNG")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", _MORE_TYPES)
            target.writestr(info, data)
        target.writestr("word/styles.xml", _STYLES)
        target.writestr("word/media/chart.png", chart.getvalue())
    path.write_bytes(out.getvalue())
    return path


def to_pdf(app: conversio.Conversio, path: Path, **options: Any) -> bytes:
    [artifact] = app.convert(path, to="pdf", options=options).run().artifacts
    return app.store.open(artifact.id).read()


def structure(pdf: pikepdf.Pdf) -> list[str]:
    """The standard types of the structure elements, depth first (custom types through the RoleMap)."""
    tree = pdf.Root.StructTreeRoot
    roles = dict(tree.get("/RoleMap", pikepdf.Dictionary()).items())
    found: list[str] = []

    def walk(node: pikepdf.Object) -> None:
        if isinstance(node, pikepdf.Array):
            for child in node:
                walk(child)
        elif isinstance(node, pikepdf.Dictionary):
            if "/S" in node:
                kind = str(node.S)
                found.append(str(roles.get(kind, kind)).lstrip("/"))
            if "/K" in node:
                walk(node.K)

    walk(tree.K)
    return found


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report_docx(tmp_path_factory.mktemp("tagged") / "report.docx")


def test_untagged_by_default_tagged_on_request(app: conversio.Conversio, report: Path) -> None:
    with pikepdf.open(io.BytesIO(to_pdf(app, report))) as plain:
        assert "/StructTreeRoot" not in plain.Root and "/MarkInfo" not in plain.Root
    data = to_pdf(app, report, tagged=True)
    assert tagging_problems(data, pdfua=False) == []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert bool(pdf.Root.MarkInfo.Marked)
        kinds = structure(pdf)
        assert pdf.open_metadata().get("pdfuaid:part") is None
    assert kinds[0] == "Document"
    assert [k for k in kinds if k in ("H1", "H2", "Table", "Figure", "Link")] == [
        "H1",
        "H2",
        "Table",
        "Figure",
        "Link",
    ]
    assert kinds.count("TR") == 3 and kinds.count("TD") == 6
    assert kinds.count("P") >= 8  # two body paragraphs and one in each of the six cells


def test_pdfua_is_tagged_titled_and_identified(app: conversio.Conversio, report: Path) -> None:
    data = to_pdf(app, report, pdfua=True)
    assert tagging_problems(data, pdfua=True) == []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert bool(pdf.Root.MarkInfo.Marked)
        assert str(pdf.Root.Lang) == "en-US"
        assert bool(pdf.Root.ViewerPreferences.DisplayDocTitle)
        meta = pdf.open_metadata()
        assert meta.get("pdfuaid:part") == "1"
        assert meta.get("dc:title") == "report"  # the file's name: the document had no title
        assert meta.get("pdfaid:part") is None
        figures = [e for e in pdf.objects if isinstance(e, pikepdf.Dictionary) and e.get("/S") == "/Figure"]
        assert [str(f.Alt) for f in figures] == ["A red bar"]
        assert {"H1", "H2", "Table", "P"} <= set(structure(pdf))


def test_pdfua_and_pdfa_together(app: conversio.Conversio, report: Path) -> None:
    with pikepdf.open(io.BytesIO(to_pdf(app, report, pdfua=True, pdfa=True))) as pdf:
        meta = pdf.open_metadata()
        assert (meta.get("pdfuaid:part"), meta.get("pdfaid:part"), meta.get("pdfaid:conformance")) == (
            "1",
            "2",
            "B",
        )
        assert pdf.Root.OutputIntents[0].S == "/GTS_PDFA1"
        assert "H1" in structure(pdf)


def test_a_picture_without_alternative_text_is_refused(app: conversio.Conversio, tmp_path: Path) -> None:
    bare = report_docx(tmp_path / "bare.docx", description="")
    with pytest.raises(ConversioError) as caught:
        to_pdf(app, bare, pdfua=True)
    assert caught.value.code == "CONVERSION_FAILED"
    assert caught.value.message == (
        "bare.docx could not be made PDF/UA: 1 picture has no alternative text "
        "(give each picture a description in the document)"
    )
    assert tagging_problems(to_pdf(app, bare, tagged=True), pdfua=False) == []


def test_the_check_names_what_an_untagged_pdf_lacks(app: conversio.Conversio, report: Path) -> None:
    assert tagging_problems(to_pdf(app, report), pdfua=True) == [
        "it is not tagged",
        "its metadata does not identify it as PDF/UA-1",
        "it has no title",
        "its viewer preferences do not show its title",
    ]
