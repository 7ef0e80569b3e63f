"""Gotenberg's LibreOffice route on conversio-office's converters: every uploaded file converted to
PDF (several results come back as a zip, or merged with ``merge``), the fields the converters take
as their options, the PDF steps after them. PDF/A-2b is LibreOffice's own export when no PDF step
follows it; any other PDF/A, or one after other steps, is conversio-pdf's ``pdfa`` at the end.
``pdfua`` is LibreOffice's PDF/UA-1 export (conversio-office's ``pdfua``, checked there), alone or
with PDF/A-2b: the PDF steps would not keep its tags, so ``pdfua`` with any of them is refused.

LibreOffice export settings conversio-office does not expose are accepted at Gotenberg's default
value and refused otherwise, so that no request is silently converted differently."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conversio_server.gotenberg import steps
from conversio_server.gotenberg.forms import Form, go_bool, go_int
from conversio_server.gotenberg.sources import Sources, Work
from conversio_server.models import StepSpec

#: Gotenberg's LibreOffice fields conversio-office has no option for, with Gotenberg's defaults.
_FIXED: dict[str, tuple[Callable[[str], Any], Any]] = {
    "allowDuplicateFieldNames": (go_bool, False),
    "exportBookmarks": (go_bool, True),
    "exportBookmarksToPdfDestination": (go_bool, False),
    "exportPlaceholders": (go_bool, False),
    "exportNotes": (go_bool, False),
    "exportNotesPages": (go_bool, False),
    "exportOnlyNotesPages": (go_bool, False),
    "exportNotesInMargin": (go_bool, False),
    "convertOooTargetToPdfTarget": (go_bool, False),
    "exportLinksAsInternal": (go_bool, False),
    "exportLinksRelativeFsys": (go_bool, False),
    "exportHiddenSlides": (go_bool, False),
    "skipEmptyPages": (go_bool, False),
    "addOriginalDocumentAsStream": (go_bool, False),
    "singlePageSheets": (go_bool, False),
    "losslessImageCompression": (go_bool, False),
    "quality": (go_int, 90),
    "reduceImageResolution": (go_bool, False),
    "maxImageResolution": (go_int, 300),
    "updateIndexes": (go_bool, True),
}
#: The PDF/A LibreOffice writes itself (``pdfa`` of conversio-office) when no PDF step follows.
_NATIVE_PDFA = StepSpec(step="pdfa", options={"level": "2b"})
#: Why ``pdfua`` is refused with PDF steps after the conversion.
_PDFUA_ALONE = (
    "PDF/UA is LibreOffice's export, and the PDF steps asked for after it (merge, watermarks, "
    "rotation, metadata, splitting, passwords, PDF/A other than PDF/A-2b) would not keep its tags; "
    "ask for pdfua alone or with pdfa PDF/A-2b"
)
#: Fields with no default to fall back on (native watermarks, viewer preferences): refused whenever given.
_REFUSED_PREFIXES = (
    "nativeWatermark",
    "nativeTiledWatermark",
    "initialView",
    "initialPage",
    "pageLayout",
    "magnification",
    "zoom",
    "centerWindow",
    "displayPDFDocumentTitle",
    "firstPageOnLeft",
    "hideViewer",
    "openBookmarkLevels",
    "openInFullScreenMode",
    "resizeWindowToInitialPage",
    "useTransitionEffects",
)


def convert(form: Form, sources: Sources) -> Work:
    """``/forms/libreoffice/convert``: each file to PDF; ``merge`` makes one PDF of them all."""
    files = [form.files[name] for name in sorted(form.files)]
    if not files:
        form.problems.append("no form file found to convert")
    options: dict[str, Any] = {"export_form_fields": form.parse("exportFormFields", go_bool, True)}
    if form.has("landscape"):
        options["landscape"] = form.parse("landscape", go_bool, False)
    if form.has("nativePageRanges"):
        options["pages"] = form.text("nativePageRanges")
    if form.has("password"):
        options["password"] = form.text("password")
    for name, (parse, default) in _FIXED.items():
        if form.has(name) and form.parse(name, parse, default) != default:
            form.refuse(name, f"conversio-office always exports with {name}={_shown(default)}")
    for name in form.values:
        if name.startswith(_REFUSED_PREFIXES):
            form.refuse(name, "conversio-office has no such export setting")
    merge = form.parse("merge", go_bool, False)
    after = steps.after(form, pdfua_refusal=None)
    then = (StepSpec(step="merge"), *after) if merge and len(files) > 1 else tuple(after)
    if then == (_NATIVE_PDFA,):
        options["pdfa"] = True
        then = ()
    if form.parse("pdfua", go_bool, False):
        options["pdfua"] = True
        if then:
            form.refuse("pdfua", _PDFUA_ALONE)
    form.validate()
    names = tuple(f.filename for f in files)
    return Work(tuple(sources.upload(f) for f in files), "pdf", options, then, names)


def _shown(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
