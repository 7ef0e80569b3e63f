"""The UNO side: a script run by the system Python that has ``python3-uno``.

It never runs inside conversio's interpreter (pyuno is built for Debian's
``/usr/bin/python3``, not for conversio's venv). conversio starts it once per
conversion with a JSON job on stdin; it connects to the warm ``soffice`` over
its named pipe, loads the document hidden, read-only, with macros never run and
links never updated, stores it and answers one JSON object on stdout:
``{"ok": true}`` or ``{"error": CODE, "message": ...}``. It imports nothing of
conversio, only the standard library and uno.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any

#: MacroExecutionMode.NEVER_EXECUTE and UpdateDocMode.NO_UPDATE.
NEVER_EXECUTE = 0
NO_UPDATE = 0


class BridgeError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def main() -> None:
    job = json.load(sys.stdin)
    try:
        answer: dict[str, Any] = handle(job)
    except BridgeError as exc:
        answer = {"error": exc.code, "message": str(exc)}
    except Exception as exc:  # anything else: the caller reports CONVERSION_FAILED
        answer = {"error": "FAILED", "message": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


def handle(job: dict[str, Any]) -> dict[str, Any]:
    uno = importlib.import_module("uno")
    context = connect(uno, job["pipe"], float(job.get("connect_timeout", 10)))
    if job.get("action") == "ping":
        return {"ok": True}
    smgr = context.ServiceManager
    desktop = smgr.createInstanceWithContext("com.sun.star.frame.Desktop", context)
    doc = load(uno, desktop, job)
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


def load(uno: Any, desktop: Any, job: dict[str, Any]) -> Any:
    """Load hidden and read-only, macros never run, links never updated, and no interaction handler:
    a password that is missing or wrong makes the load fail at once (no dialog, no hang)."""
    descriptor: dict[str, Any] = {
        "Hidden": True,
        "ReadOnly": True,
        "MacroExecutionMode": NEVER_EXECUTE,
        "UpdateDocMode": NO_UPDATE,
        "FilterName": job["import_filter"],
    }
    if job.get("import_options"):
        descriptor["FilterOptions"] = job["import_options"]
    if job.get("password"):
        descriptor["Password"] = job["password"]
    try:
        doc = desktop.loadComponentFromURL(job["input"], "_blank", 0, props(uno, **descriptor))
    except Exception as exc:
        raise BridgeError("CORRUPT_FILE", f"{type(exc).__name__}: {exc}") from None
    if doc is None:
        raise BridgeError("CORRUPT_FILE", "LibreOffice could not read it")
    return doc


def shape(doc: Any, job: dict[str, Any]) -> None:
    """Apply the layout options (sheets, landscape) to the loaded copy, never to the input."""
    sheets = job.get("sheets")
    if sheets and doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
        keep_sheets(doc, sheets)
    if job.get("landscape"):
        make_landscape(doc)


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
