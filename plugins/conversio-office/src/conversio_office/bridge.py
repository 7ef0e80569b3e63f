"""The UNO side: a script run by the system Python that has ``python3-uno``.

It never runs inside conversio's interpreter (pyuno is built for Debian's
``/usr/bin/python3``, not for conversio's venv). conversio starts one bridge beside
each warm ``soffice`` and keeps it for that soffice's life. The bridge reads JSON
jobs, one per line, on stdin; it connects to soffice over its named pipe on the
first job and keeps the connection; for each job it loads the document hidden,
read-only, with macros never run and links never updated, stores it and answers
one JSON line on stdout: ``{"ok": true}`` or ``{"error": CODE, "message": ...}``.
Its stdout carries only these answers: everything else written to file
descriptor 1 (UNO's own noise) goes to stderr. It imports nothing of conversio,
only the standard library and uno.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from typing import Any, BinaryIO

#: MacroExecutionMode.NEVER_EXECUTE and UpdateDocMode.NO_UPDATE.
NEVER_EXECUTE = 0
NO_UPDATE = 0


#: Error messages are cut to this many characters (they may quote the document).
MAX_MESSAGE = 2000


class BridgeError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Session:
    """The UNO connection to one soffice, opened on the first job and kept."""

    def __init__(self) -> None:
        self.uno: Any = None
        self.pipe = ""
        self.desktop: Any = None
        self.context: Any = None

    def desktop_for(self, job: dict[str, Any]) -> Any:
        if self.desktop is None or job["pipe"] != self.pipe:
            self.uno = importlib.import_module("uno")
            self.context = connect(self.uno, job["pipe"], float(job.get("connect_timeout", 10)))
            self.desktop = self.context.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.Desktop", self.context
            )
            self.pipe = job["pipe"]
        return self.desktop


def main() -> None:
    answers = _answer_channel()
    session = Session()
    for line in sys.stdin.buffer:
        try:
            job = json.loads(line)
            answer: dict[str, Any] = handle(session, job)
        except BridgeError as exc:
            answer = {"error": exc.code, "message": str(exc)[:MAX_MESSAGE]}
        except Exception as exc:  # anything else: the caller reports CONVERSION_FAILED
            answer = {"error": "FAILED", "message": f"{type(exc).__name__}: {exc}"[:MAX_MESSAGE]}
        answers.write(json.dumps(answer).encode() + b"\n")
        answers.flush()


def _answer_channel() -> BinaryIO:
    """A private copy of stdout for the answers; file descriptor 1 itself then points at stderr."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return answers


def handle(session: Session, job: dict[str, Any]) -> dict[str, Any]:
    desktop = session.desktop_for(job)
    if job.get("action") == "ping":
        desktop.getImplementationName()  # a round trip: fails once soffice is gone
        return {"ok": True}
    uno = session.uno
    doc = load(uno, session.context, desktop, job)
    try:
        shape(doc, job)
        store(uno, doc, job)
    finally:
        try:
            doc.close(True)
        except Exception:
            doc.dispose()
    return {"ok": True}


def connect(uno: Any, pipe: str, timeout: float) -> Any:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except Exception as exc:
            if type(exc).__name__ != "NoConnectException" or time.monotonic() > deadline:
                raise BridgeError("NO_CONNECTION", f"cannot reach soffice: {exc}") from None
            time.sleep(0.1)


def props(uno: Any, **values: Any) -> tuple[Any, ...]:
    """A tuple of PropertyValue, what UNO calls a media descriptor."""
    out = []
    for name, value in values.items():
        prop = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
        prop.Name = name
        prop.Value = value
        out.append(prop)
    return tuple(out)


def load(uno: Any, context: Any, desktop: Any, job: dict[str, Any]) -> Any:
    """Load hidden and read-only, macros never run, links never updated, and no interaction handler:
    a password that is missing or wrong makes the load fail at once (no dialog, no hang).

    The format's own filter first; if it cannot read the file, the filter LibreOffice's type
    detection names, but only when it is one of the job's ``legacy_filters``."""
    try:
        return load_with(uno, desktop, job, job["import_filter"], job.get("import_options", ""))
    except BridgeError:
        legacy = detected_filter(uno, context, job)
        if legacy not in job.get("legacy_filters", ()):
            raise
    return load_with(uno, desktop, job, legacy, "")


def load_with(uno: Any, desktop: Any, job: dict[str, Any], name: str, options: str) -> Any:
    descriptor: dict[str, Any] = {
        "Hidden": True,
        "ReadOnly": True,
        "MacroExecutionMode": NEVER_EXECUTE,
        "UpdateDocMode": NO_UPDATE,
        "FilterName": name,
    }
    if options:
        descriptor["FilterOptions"] = options
    if job.get("password"):
        descriptor["Password"] = job["password"]
    try:
        doc = desktop.loadComponentFromURL(job["input"], "_blank", 0, props(uno, **descriptor))
    except Exception as exc:
        raise BridgeError("CORRUPT_FILE", f"{type(exc).__name__}: {exc}") from None
    if doc is None:
        raise BridgeError("CORRUPT_FILE", "LibreOffice could not read it")
    return doc


def detected_filter(uno: Any, context: Any, job: dict[str, Any]) -> str:
    """The import filter LibreOffice's deep type detection picks for the input ("" if none)."""
    if not job.get("legacy_filters"):
        return ""
    try:
        detection = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.document.TypeDetection", context
        )
        _type, descriptor = detection.queryTypeByDescriptor(props(uno, URL=job["input"]), True)
    except Exception:
        return ""
    found = {prop.Name: prop.Value for prop in descriptor}
    return str(found.get("FilterName") or "")


def shape(doc: Any, job: dict[str, Any]) -> None:
    """Apply the layout options (sheets, landscape) to the loaded copy, never to the input."""
    sheets = job.get("sheets")
    if sheets and doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
        keep_sheets(doc, sheets)
    if job.get("landscape"):
        make_landscape(doc)
    if job.get("title") and not doc.DocumentProperties.Title:
        doc.DocumentProperties.Title = job["title"]


def keep_sheets(doc: Any, wanted: list[str]) -> None:
    names = list(doc.Sheets.ElementNames)
    keep = []
    for item in wanted:
        if item in names:
            keep.append(item)
        elif item.isdigit() and 1 <= int(item) <= len(names):
            keep.append(names[int(item) - 1])
        else:
            raise BridgeError("INVALID_OPTION", f"no sheet {item!r}; the sheets are {', '.join(names)}")
    for name in names:
        if name not in keep:
            doc.Sheets.removeByName(name)


def make_landscape(doc: Any) -> None:
    if not (
        doc.supportsService("com.sun.star.text.TextDocument")
        or doc.supportsService("com.sun.star.sheet.SpreadsheetDocument")
    ):
        return
    styles = doc.StyleFamilies.getByName("PageStyles")
    for name in styles.ElementNames:
        style = styles.getByName(name)
        if not style.IsLandscape:
            size = style.Size
            width, height = size.Width, size.Height
            style.IsLandscape = True
            size.Width, size.Height = max(width, height), min(width, height)
            style.Size = size


def pdf_filter(doc: Any) -> str:
    for service, name in (
        ("com.sun.star.text.WebDocument", "writer_web_pdf_Export"),
        ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
        ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
        ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
        ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
    ):
        if doc.supportsService(service):
            return name
    raise BridgeError("UNSUPPORTED_FORMAT", "LibreOffice opened it as a document it cannot print")


def store(uno: Any, doc: Any, job: dict[str, Any]) -> None:
    descriptor: dict[str, Any] = {"Overwrite": True}
    if job["export_filter"] == "pdf":
        data: dict[str, Any] = {"ExportFormFields": bool(job.get("export_form_fields"))}
        if job.get("pages"):
            data["PageRange"] = job["pages"]
        if job.get("pdfa"):
            data["SelectPdfVersion"] = 2  # PDF/A-2b
        if job.get("tagged"):
            data["UseTaggedPDF"] = True
        if job.get("pdfua"):
            data["PDFUACompliance"] = True
            data["DisplayPDFDocumentTitle"] = True
        descriptor["FilterName"] = pdf_filter(doc)
        descriptor["FilterData"] = uno.Any("[]com.sun.star.beans.PropertyValue", props(uno, **data))
    else:
        descriptor["FilterName"] = job["export_filter"]
        if job.get("export_options"):
            descriptor["FilterOptions"] = job["export_options"]
    try:
        uno.invoke(doc, "storeToURL", (job["output"], props(uno, **descriptor)))
    except Exception as exc:
        raise BridgeError("FAILED", f"LibreOffice could not write it: {type(exc).__name__}: {exc}") from None


if __name__ == "__main__":
    main()
