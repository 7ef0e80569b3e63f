"""PDF passwords as a user types them, turned into the bytes a PDF's security handler checks.

PDF 2.0 (ISO 32000-2, AES-256 revision 6) prepares a password with SASLprep
(RFC 4013) and encodes it as UTF-8: a soft hyphen disappears, "ﬁ" becomes "fi",
a no-break space becomes a space. Older revisions (RC4, AES-128: R2 to R4) check
PDFDocEncoding bytes, which qpdf does not derive from the UTF-8 that pikepdf
passes. :func:`candidates` lists every form worth trying, the raw one first.
"""

from __future__ import annotations

import stringprep
import unicodedata

import pikepdf.codec  # noqa: F401  (registers the "pdfdoc" codec)

_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def saslprep(text: str, *, stored: bool = False) -> str:
    """``text`` prepared by SASLprep (RFC 4013); ``ValueError`` when it holds a prohibited
    character or mixes directions wrongly. Unassigned code points are refused only in a
    ``stored`` string (one being set, not checked)."""
    mapped = "".join(
        " " if stringprep.in_table_c12(char) else char for char in text if not stringprep.in_table_b1(char)
    )
    prepared = unicodedata.normalize("NFKC", mapped)
    for char in prepared:
        if any(table(char) for table in _PROHIBITED):
            raise ValueError(f"prohibited character U+{ord(char):04X}")
        if stored and stringprep.in_table_a1(char):
            raise ValueError(f"unassigned character U+{ord(char):04X}")
    right_to_left = [stringprep.in_table_d1(char) for char in prepared]
    if any(right_to_left):
        if any(stringprep.in_table_d2(char) for char in prepared):
            raise ValueError("left-to-right and right-to-left characters mixed")
        if not (right_to_left[0] and right_to_left[-1]):
            raise ValueError("right-to-left text must start and end with a right-to-left character")
    return prepared


def candidates(password: str | None) -> list[bytes]:
    """The byte strings to try, in order: the password as typed (UTF-8), prepared by
    SASLprep, then both in PDFDocEncoding (for R2 to R4). No password is ``b""``."""
    if not password:
        return [b""]
    forms = [password]
    try:
        forms.append(saslprep(password))
    except ValueError:
        pass  # not a valid SASLprep string: only the raw form can be right
    encoded = [form.encode("utf-8") for form in forms]
    for form in forms:
        try:
            encoded.append(form.encode("pdfdoc"))
        except UnicodeEncodeError:
            continue
    return list(dict.fromkeys(encoded))
