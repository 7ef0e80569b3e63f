"""A small hostile document cannot hold LibreOffice for long or let it take the host's memory."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from conversio_office.soffice import office
from office_samples import sample_file

from conversio.errors import ConversioError
from conversio.limits import Limits
from conversio.testing import make_conversio

PLUGIN = "conversio_office.plugin"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_PARAGRAPH = b"<w:p><w:r><w:t>a paragraph of a document body that inflates</w:t></w:r></w:p>"


def inflating_docx(path: Path, megabytes: int) -> Path:
    """A docx of about 1 MB whose document.xml inflates to ``megabytes`` MB of paragraphs."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as docx:
        docx.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        docx.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.'
            'org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
            '.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
            "</Relationships>",
        )
        chunk = _PARAGRAPH * 10_000
        with docx.open("word/document.xml", "w", force_zip64=True) as body:
            body.write(f'<?xml version="1.0"?><w:document xmlns:w="{_W}"><w:body>'.encode())
            for _ in range(megabytes * 1024 * 1024 // len(chunk)):
                body.write(chunk)
            body.write(b"</w:body></w:document>")
    return path


@pytest.mark.parametrize("executor", ["process", "inline"])
def test_inflating_document_is_refused_fast_and_the_pool_recovers(tmp_path: Path, executor: str) -> None:
    """300 MB of paragraphs in a 1 MB docx held soffice for the whole 300 s at 6.5 GB RSS;
    under the engine's own 1 GiB cap it is FILE_TOO_LARGE in seconds, and the next one converts."""
    bomb = inflating_docx(tmp_path / "bomb.docx", 300)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    app = make_conversio(
        PLUGIN, executor=executor, workers=1, cache=False, limits=Limits(max_engine_memory=1024**3)
    )
    try:
        started = time.monotonic()
        with pytest.raises(ConversioError) as info:
            app.convert(bomb, to="pdf").run()
        assert info.value.code == "FILE_TOO_LARGE", info.value
        assert "1,024 MiB" in str(info.value) and "soffice" not in str(info.value)
        assert time.monotonic() - started < 100  # the office timeout (120 s) was not needed
        [artifact] = app.convert(sample_file("docx", tmp_path), to="pdf").run().artifacts
        assert app.store.open(artifact.id).read(5) == b"%PDF-"
    finally:
        app.close()
        if executor == "inline":
            office().stop()
