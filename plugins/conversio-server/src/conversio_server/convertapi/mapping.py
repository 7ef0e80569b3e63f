"""ConvertAPI's converter names and parameters onto conversio's formats, operations and options.

``/convert/{from}/to/{to}``: ``to`` is a format (``pdf``, ``jpg``, ``zip``…) or one of the operation names
of :data:`OPERATIONS` (``merge``, ``encrypt``…). ``from`` is ``any``, ``web`` or a format; conversio
sniffs every input anyway (the content decides, not the name), so ``from`` only selects the endpoint.

Parameters of :data:`PARAMETERS` become options; each goes to the steps whose converters declare it
and is ignored elsewhere, as ConvertAPI ignores parameters a converter does not know. The table in
``docs/reference/convertapi.md`` mirrors this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from conversio.converters import ConverterSpec
from conversio.errors import ConversioError, InvalidOption
from conversio.ingest import Arriving
from conversio.options import Option
from conversio.stores.base import Artifact
from conversio_server.conversions import Order
from conversio_server.convertapi.errors import ConvertApiError
from conversio_server.convertapi.params import Parameters, Value
from conversio_server.models import StepSpec

if TYPE_CHECKING:
    from conversio_server.service import Server

#: ConvertAPI converter names (the ``to`` of the path) that are conversio operations on PDF.
OPERATIONS: dict[str, str] = {
    "merge": "merge",
    "encrypt": "encrypt",
    "protect": "encrypt",
    "decrypt": "decrypt",
    "unprotect": "decrypt",
    "split": "split",
    "compress": "compress",
    "rotate": "rotate",
    "watermark": "watermark",
    "extract": "extract-pages",
    "repair": "repair",
    "linearize": "linearize",
    "pdfa": "pdfa",
    "ocr": "ocr",
}

#: ``from`` values that name no format: the inputs' sniffed formats are used (``web`` is what the Python
#: client sends for a ``Url`` input, ``url`` what the Node client sends).
ANY_SOURCES = frozenset({"any", "web", "url", "*"})

#: ConvertAPI converters that are another endpoint here: ``(from, to)`` -> ``(from, to)``.
#: ``images/to/pdf`` makes one PDF of all its inputs, in the order given.
CONVERTERS: dict[tuple[str, str], tuple[str, str]] = {("images", "pdf"): ("any", "merge")}

#: The format operations work on.
OPERATION_FORMAT = "pdf"


def _text(value: str) -> str:
    return value.strip()


def _gray(value: str) -> bool:
    return value.strip().lower() in ("gray", "grey", "grayscale", "greyscale")


def _landscape(value: str) -> bool:
    low = value.strip().lower()
    if low not in ("landscape", "portrait", "default", ""):
        raise ValueError("must be landscape, portrait or default")
    return low == "landscape"


def _fraction(value: str) -> float:
    """An opacity in percent (ConvertAPI) or as a fraction."""
    number = float(value)
    return number / 100 if number > 1 else number


def _pdfa_level(value: str) -> str:
    """A PDF/A version as ConvertAPI names it (``pdfa2b``, ``PDF/A-2b``) as a ``level`` (``2b``)."""
    low = value.strip().lower()
    for prefix in ("pdf/a", "pdfa"):
        low = low.removeprefix(prefix)
    return low.lstrip("-_ ")


#: ConvertAPI's OCR language names -> Tesseract's codes.
OCR_LANGUAGES: dict[str, str] = {
    "arabic": "ara",
    "czech": "ces",
    "danish": "dan",
    "dutch": "nld",
    "english": "eng",
    "finnish": "fin",
    "french": "fra",
    "german": "deu",
    "greek": "ell",
    "hebrew": "heb",
    "hungarian": "hun",
    "italian": "ita",
    "japanese": "jpn",
    "korean": "kor",
    "norwegian": "nor",
    "polish": "pol",
    "portuguese": "por",
    "romanian": "ron",
    "russian": "rus",
    "spanish": "spa",
    "swedish": "swe",
    "turkish": "tur",
    "ukrainian": "ukr",
}


def _ocr_language(value: str) -> str:
    """ConvertAPI's language names (``english``; several joined with ``,`` or ``+``) as Tesseract's
    ``language`` option (``eng``, ``eng+deu``)."""
    names = [name.strip().lower() for name in value.replace("+", ",").split(",") if name.strip()]
    unknown = [name for name in names if name not in OCR_LANGUAGES] if names else [value]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown)
        raise ValueError(f"unknown OCR language {shown}; valid: {', '.join(OCR_LANGUAGES)}")
    return "+".join(dict.fromkeys(OCR_LANGUAGES[name] for name in names))


def _ranges(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@attrs.frozen
class Rule:
    """How one ConvertAPI parameter becomes a conversio option."""

    option: str
    convert: Callable[[str], Any] = _text


#: ConvertAPI parameter -> conversio option (names are matched without regard to case).
PARAMETERS: dict[str, Rule] = {
    "PageRange": Rule("pages"),
    "ImageResolution": Rule("dpi"),
    "JpgQuality": Rule("quality"),
    "ImageQuality": Rule("quality"),
    "ImageWidth": Rule("width"),
    "ImageHeight": Rule("height"),
    "ColorSpace": Rule("grayscale", _gray),
    "Password": Rule("password"),
    "PdfUserPasswordNew": Rule("user_password"),
    "PdfOwnerPasswordNew": Rule("owner_password"),
    "UserPassword": Rule("user_password"),
    "OwnerPassword": Rule("owner_password"),
    "Angle": Rule("angle"),
    "RotateAngle": Rule("angle"),
    "Text": Rule("text"),
    "FontSize": Rule("font_size"),
    "Opacity": Rule("opacity", _fraction),
    "SplitByCustomRange": Rule("ranges", _ranges),
    "SplitByPattern": Rule("every"),
    "PageOrientation": Rule("landscape", _landscape),
    "PdfTitle": Rule("title"),
    "PdfAuthor": Rule("author"),
    "PdfSubject": Rule("subject"),
    "PdfKeywords": Rule("keywords"),
    "CompressionLevel": Rule("level"),
    "PdfaVersion": Rule("level", _pdfa_level),
    "OcrLanguage": Rule("language", _ocr_language),
}

_RULES = {name.lower(): rule for name, rule in PARAMETERS.items()}

#: conversio option -> the ConvertAPI parameter named in errors about it (the first that maps to it).
PARAMETER_OF = {rule.option: name for name, rule in reversed(PARAMETERS.items())}

#: Options whose ConvertAPI meaning differs from conversio's default: inputs keep the order given.
DEFAULTS: dict[str, Any] = {"order": "given"}


@attrs.frozen
class Endpoint:
    """What ``/convert/{from}/to/{to}`` asks for: a conversion to ``target`` or an ``operation``."""

    source: str | None
    target: str | None = None
    operation: str | None = None


def endpoint(server: Server, source: str, target: str) -> Endpoint:
    """The endpoint of the path; ``CONVERTER_NOT_FOUND`` (404) for a pair conversio cannot convert."""
    conversio = server.conversio
    src, dst = source.strip().lower(), target.strip().lower()
    src, dst = CONVERTERS.get((src, dst), (src, dst))
    not_found = ConvertApiError("CONVERTER_NOT_FOUND", f"Converter '{source}/to/{target}' not found.")
    src_format = None if src in ANY_SOURCES else conversio.canonical(src)
    if src_format is None and src not in ANY_SOURCES:
        raise not_found
    operation = OPERATIONS.get(dst)
    if operation is not None and operation in conversio.operations():
        if src_format not in (None, OPERATION_FORMAT) and src_format not in server.conversions.input_formats(
            OPERATION_FORMAT
        ):
            raise not_found
        return Endpoint(src_format, operation=operation)
    dst_format = conversio.canonical(dst)
    if dst_format is None:
        raise not_found
    if src_format not in (None, dst_format) and src_format not in server.conversions.input_formats(
        dst_format
    ):
        raise not_found
    return Endpoint(src_format, target=dst_format)


def order(
    server: Server, where: Endpoint, inputs: Sequence[Artifact | Arriving], params: Parameters, store: bool
) -> Order:
    """The conversion to run for ``inputs``, with the parameters mapped onto the options of its steps.

    Invalid values are one 400 naming every bad parameter (``InvalidParameters``).
    """
    wanted = _mapped(params)
    problems: dict[str, list[str]] = {}
    formats = sorted({a.format for a in inputs})
    if where.operation is None:
        assert where.target is not None
        options = _options_for(_route_options(server, formats, where.target), wanted, problems)
        _raise(problems)
        return Order(tuple(inputs), where.target, options=options, store=store)
    step_options = _options_for(_operation_options(server, where.operation), wanted, problems)
    target = None
    convert_options: dict[str, Any] = {}
    if any(f != OPERATION_FORMAT for f in formats):
        target = OPERATION_FORMAT
        convert_options = _options_for(_route_options(server, formats, OPERATION_FORMAT), wanted, problems)
    _raise(problems)
    step = StepSpec(step=where.operation, options=step_options)
    return Order(tuple(inputs), target, options=convert_options, then=(step,), store=store)


def option_error(exc: InvalidOption, params: Parameters) -> ConvertApiError:
    """A conversio option error as ConvertAPI's, naming the parameter the request set (or would set)."""
    option = str(exc.details.get("option") or "")
    given = [p.name for p in params if (rule := _RULES.get(p.name.lower())) and rule.option == option]
    param = given[-1] if given else PARAMETER_OF.get(option, option)
    message = _reason(exc.message, option, param) if option else exc.message
    return ConvertApiError("INVALID_OPTION", message, invalid={param: [message]} if param else None)


def _mapped(params: Parameters) -> dict[str, tuple[str, Value]]:
    """conversio option -> (the ConvertAPI parameter that set it, its value)."""
    mapped: dict[str, tuple[str, Value]] = {}
    for param in params:
        rule = _RULES.get(param.name.lower())
        values = param.all()
        if rule is None or not values or values[-1] is None or values[-1] == "":
            continue
        mapped[rule.option] = (param.name, values[-1])
    return mapped


def _options_for(
    declared: dict[str, list[Option]], wanted: dict[str, tuple[str, Value]], problems: dict[str, list[str]]
) -> dict[str, Any]:
    """The wanted options these steps declare, parsed; bad values are added to ``problems``."""
    options: dict[str, Any] = {}
    for name, (param, raw) in wanted.items():
        if name not in declared:
            continue
        rule = _RULES[param.lower()]
        try:
            value = rule.convert(str(raw)) if isinstance(raw, str) else raw
            if isinstance(value, bool) and declared[name][0].type != "bool":
                raise ValueError(f"must be {declared[name][0].type}")
            for option in declared[name]:
                option.parse(value)
        except InvalidOption as exc:
            problems.setdefault(param, []).append(_reason(exc.message, name, param))
            continue
        except (ValueError, TypeError) as exc:
            problems.setdefault(param, []).append(str(exc) or "invalid value")
            continue
        options[name] = value
    for name, value in DEFAULTS.items():
        if name in declared and name not in options:
            options[name] = value
    return options


def _reason(message: str, option: str, param: str) -> str:
    return message.replace(f"option {option!r}", param)


def _raise(problems: dict[str, list[str]]) -> None:
    if problems:
        names = ", ".join(problems)
        raise ConvertApiError("INVALID_OPTION", f"Parameter validation error: {names}.", invalid=problems)


def _collect(specs: Iterable[ConverterSpec | None]) -> dict[str, list[Option]]:
    declared: dict[str, list[Option]] = {}
    for spec in specs:
        for option in spec.options if spec else ():
            declared.setdefault(option.name, []).append(option)
    return declared


def _route_options(server: Server, formats: Sequence[str], target: str) -> dict[str, list[Option]]:
    """The options the steps from each of ``formats`` to ``target`` declare."""
    specs: list[ConverterSpec | None] = []
    for fmt in formats:
        if fmt == target:
            continue
        try:
            route = server.conversio.route(fmt, target)
        except ConversioError:
            continue  # the conversion reports it, with the formats that would work
        specs.extend(step.spec for step in route.steps)
    return _collect(specs)


def _operation_options(server: Server, operation: str) -> dict[str, list[Option]]:
    specs = [
        spec
        for spec in server.conversio.converters(source=OPERATION_FORMAT)
        if spec.operation == operation and spec.source == OPERATION_FORMAT
    ]
    return _collect(specs)
