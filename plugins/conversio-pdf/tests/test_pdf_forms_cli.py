"""The command line fills a form from a JSON file (``--then fill:data=@fields.json``) or from JSON
written in place, describes it (``--then describe``) and attaches files, as a user runs it (a file
that cannot be read is tested in core, without a plugin)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pikepdf
import pypdf
from test_pdf_forms import form_pdf


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONVERSIO_STORE": (cwd / ".store").as_uri()}
    command = [sys.executable, "-m", "conversio", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_fill_from_a_json_file_then_describe(tmp_path: Path) -> None:
    form_pdf(tmp_path / "form.pdf")
    (tmp_path / "fields.json").write_text('{"name": "Lovelace, Ada", "agree": true, "size": "L"}\n')
    done = _cli(
        "convert",
        "form.pdf",
        "--to",
        "pdf",
        "--then",
        "fill:data=@fields.json",
        "-o",
        "out.pdf",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    fields = pypdf.PdfReader(tmp_path / "out.pdf").get_fields() or {}
    assert (fields["name"]["/V"], fields["agree"]["/V"], fields["size"]["/V"]) == (
        "Lovelace, Ada",
        "/Yes",
        "/L",
    )
    done = _cli("convert", "out.pdf", "--then", "describe", "-o", "out.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    described = json.loads((tmp_path / "out.json").read_text())
    assert {f["name"]: f["value"] for f in described["form"]["fields"]}["name"] == "Lovelace, Ada"


def test_fill_from_json_written_in_place(tmp_path: Path) -> None:
    form_pdf(tmp_path / "form.pdf")
    then = 'fill:data={"colour": "green", "name": "a, b"},flatten=true'
    done = _cli("convert", "form.pdf", "--to", "pdf", "--then", then, "-o", "flat.pdf", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert pypdf.PdfReader(tmp_path / "flat.pdf").get_fields() is None  # flattened
    assert "a, b" in pypdf.PdfReader(tmp_path / "flat.pdf").pages[0].extract_text()


def test_attach_starts_from_the_inputs_as_they_are(tmp_path: Path) -> None:
    form_pdf(tmp_path / "report.pdf")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    done = _cli("convert", "report.pdf", "data.csv", "--then", "attach", "-o", "out.pdf", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    with pikepdf.open(tmp_path / "out.pdf") as pdf:  # the CSV attached as it is, not made a PDF
        assert pdf.attachments["data.csv"].get_file().read_bytes() == b"a,b\n1,2\n"
