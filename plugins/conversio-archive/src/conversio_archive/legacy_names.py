"""Member names stored as bytes in an unnamed legacy encoding, decoded by plausibility.

A zip entry without the UTF-8 flag, or a tar name that is not UTF-8, was
written in the code page of the machine that made it (GBK on a Chinese
Windows, Shift-JIS on a Japanese one, CP866 in a Russian DOS box...). Charset
detectors need far more text than a file name, so the rule here is simpler and
measured on names: decode the archive's names with each candidate encoding,
score what comes out, keep the best.

The score counts, per byte, how plausible each non-ASCII character is in a
file name: letters of one script are good; in the multi-byte encodings, the
common characters (GB2312 level 1, JIS level 1 kanji and kana, Big5's frequent
block) are worth more than the rare ones they also hold. Symbols, box drawing,
half-width katakana and letters of another script right next to a letter
are bad, as are a lower- to upper-case flip inside a word and a run of
accented Latin letters (which is what Cyrillic or CJK bytes look like through
a Western code page). Ties go to the earlier candidate.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Iterable, Sequence

#: Candidates for zip names, in order of preference on a tie: UTF-8 (tools that do not set
#: the flag), the ZIP standard's CP437, then the OEM and ANSI code pages of Windows tools.
ZIP_ENCODINGS = ("utf-8", "cp437", "cp850", "cp1252", "gbk", "cp866", "cp1251", "big5", "cp932")
#: Candidates for tar names: the locales of Unix machines.
TAR_ENCODINGS = ("utf-8", "cp1252", "gbk", "koi8_r", "cp1251", "euc_jp", "big5")

#: Names read to choose an encoding.
SAMPLE = 500
#: Lead-byte ranges of two-byte characters, and what a character there is worth.
#: Ranges not listed are rare extensions and vendor additions (worth -1).
_LEADS: dict[str, tuple[tuple[int, int, float], ...]] = {
    # GB2312 symbols, kana (rare in Chinese names), level 1 and level 2 hanzi
    "gbk": ((0xA1, 0xA3, 0.5), (0xA4, 0xA5, 0.0), (0xB0, 0xD7, 1.0), (0xD8, 0xF7, 0.5)),
    # Big5 symbols, frequent and less frequent hanzi
    "big5": ((0xA1, 0xA3, 0.5), (0xA4, 0xC6, 1.0), (0xC9, 0xF9, 0.5)),
    # Shift-JIS symbols, kana and full-width letters, level 1 and level 2 kanji
    "cp932": ((0x81, 0x81, 0.5), (0x82, 0x83, 1.0), (0x88, 0x9F, 1.0), (0xE0, 0xEA, 0.5)),
    # EUC-JP symbols, kana, level 1 and level 2 kanji
    "euc_jp": ((0xA1, 0xA1, 0.5), (0xA4, 0xA5, 1.0), (0xB0, 0xCF, 1.0), (0xD0, 0xF4, 0.5)),
}
#: Cyrillic letters of Russian, Ukrainian and Belarusian; other Cyrillic letters count as rare.
_CYRILLIC = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў")
#: Rare Latin letters (Icelandic, and those of code pages' punctuation rows): worth half.
_RARE_LATIN = frozenset("ðþƒšžœÿ")
#: The scripts a name's letters are expected in (kana and full-width forms count as CJK).
_SCRIPTS = {
    **dict.fromkeys(("CJK", "HIRAGANA", "KATAKANA", "FULLWIDTH", "IDEOGRAPHIC"), "CJK"),
    **{s: s for s in ("LATIN", "CYRILLIC", "GREEK", "HANGUL", "ARABIC", "HEBREW")},
}


def choose_encoding(names: Iterable[bytes], candidates: Sequence[str]) -> str:
    """The candidate under which ``names`` (the raw names of one archive) read best.

    Pure ASCII names say nothing: with no other name, the first candidate wins. The first
    :data:`SAMPLE` other names decide (enough, and the time stays bounded).
    """
    sample = list(itertools.islice((n for n in names if not n.isascii()), SAMPLE))
    best, best_score = candidates[0], float("-inf")
    for encoding in candidates:
        total = 0.0
        for name in sample:
            try:
                total += score(name.decode(encoding), encoding)
            except UnicodeDecodeError:
                break
        else:
            if total > best_score:
                best, best_score = encoding, total
    return best


def score(text: str, encoding: str) -> float:
    """How plausible ``text`` (decoded with ``encoding``) is as a file name; higher is better."""
    total = 0.0
    previous = ""
    for index, char in enumerate(text):
        if char.isascii():
            previous = char
            continue
        raw = char.encode(encoding, "replace")
        value = _worth(char, raw, encoding)
        if value > -2:
            value -= _context_penalty(char, previous, text[index + 1 : index + 2])
        total += value * len(raw)
        previous = char
    return total


def _worth(char: str, raw: bytes, encoding: str) -> float:
    """What one character is worth before its neighbours are looked at."""
    script = _script(char)
    if script is None:
        return -2.0
    leads = _LEADS.get(encoding)
    if leads is not None and len(raw) == 2:
        return next((worth for low, high, worth in leads if low <= raw[0] <= high), -1.0)
    if script == "CYRILLIC":
        return 1.0 if char.lower() in _CYRILLIC else 0.0
    if script == "LATIN":
        return 1.0 if char <= "\u00ff" and char.lower() not in _RARE_LATIN else 0.5
    if script == "GREEK":
        return 0.5
    return 1.0


def _context_penalty(char: str, before: str, after: str) -> float:
    """Penalties for a letter that does not fit the letters beside it."""
    script = _script(char)
    penalty = 0.0
    for neighbour in (before, after):
        other = _script(neighbour) if neighbour.isalpha() else None
        if other is not None and other != script:
            penalty += 2.0
    if char.isupper() and before.isalpha() and (before.islower() or after.islower()):
        penalty += 1.0  # "aB" or "ABc": a capital inside a word
    if script == "LATIN" and not before.isascii() and _script(before) == "LATIN":
        penalty += 1.0
    return penalty


def _script(char: str) -> str | None:
    """The script of a letter (CJK for ideographs and kana), None for anything else."""
    if not char:
        return None
    if char.isascii():
        return "LATIN" if char.isalpha() else None
    if not unicodedata.category(char).startswith("L"):
        return None
    word = unicodedata.name(char, "").split(" ", 1)[0].split("-", 1)[0]
    # None for half-width katakana too: what CJK bytes look like through the wrong code page
    return _SCRIPTS.get(word)
