"""What an engine's failure on a PDF means, in the user's terms.

qpdf and PDFium describe damage in their own words, with the local path and byte
offsets; none of that reaches a user. :func:`damaged` reads the engine's text only
to choose which plain sentence to give.
"""

from __future__ import annotations

from conversio.errors import ConversioError, CorruptFile, UnsupportedEncryption

#: words in an engine's message → what is wrong, in the user's terms (first match wins)
_PROBLEMS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("loop", "recursion", "depth", "nest"), "its structure loops back on itself or is nested too deeply"),
    (("kids", "page tree", "pages tree", "/pages", "page object"), "its page tree is broken"),
    (("inflate", "decod", "filter", "lzw", "dct", "predictor"), "some of its content cannot be decoded"),
    (("trailer", "xref", "pdf header", "eof"), "its structure cannot be found: it is truncated or not a PDF"),
)
_ADVICE = "get a complete copy of it, or export it again from the application that made it"


def encryption_unsupported(message: str) -> bool:
    """Whether qpdf's ``message`` says the encryption scheme itself is unknown (no password helps)."""
    lowered = message.lower()
    return "encryption" in lowered and ("unsupported" in lowered or "unknown" in lowered)


def unsupported_encryption(name: str) -> UnsupportedEncryption:
    return UnsupportedEncryption(
        f"{name} is protected by a security scheme conversio cannot open (a custom or "
        "certificate-based one, not a password); save an unprotected copy with the application "
        "that opens it",
        file=name,
    )


def damaged(name: str, engine_message: str) -> ConversioError:
    """The error for ``name`` that an engine failed on with ``engine_message`` (never shown)."""
    if encryption_unsupported(engine_message):
        return unsupported_encryption(name)
    lowered = engine_message.lower()
    problem = next(
        (text for words, text in _PROBLEMS if any(word in lowered for word in words)),
        "it is damaged",
    )
    return CorruptFile(f"{name} cannot be read as a PDF: {problem}; {_ADVICE}", file=name)
