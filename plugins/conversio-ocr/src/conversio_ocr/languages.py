"""Tesseract's installed languages, read once, and the ``language`` option checked against them."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

from conversio.errors import InvalidOption, MissingDependency
from conversio_ocr.specs import INSTALL_HINT

#: Not languages: orientation and script detection, and the "equations" model.
_NOT_LANGUAGES = frozenset({"osd", "equ"})
_CODE = re.compile(r"[A-Za-z0-9_]{1,40}")


@functools.cache
def installed_languages() -> tuple[str, ...]:
    """The languages ``tesseract --list-langs`` names (``osd`` left out), sorted."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        raise MissingDependency(
            f"Tesseract is not installed; {INSTALL_HINT}", module="tesseract", install_hint=INSTALL_HINT
        )
    try:
        listed = subprocess.run(
            [tesseract, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    languages = sorted(
        {line.strip() for line in listed.splitlines()[1:] if _CODE.fullmatch(line.strip())} - _NOT_LANGUAGES
    )
    if not languages:
        raise MissingDependency(
            f"Tesseract has no language data installed; {INSTALL_HINT}",
            module="tesseract",
            install_hint=INSTALL_HINT,
        )
    return tuple(languages)


def checked_languages(value: str, name: str) -> str:
    """``value`` (codes joined with ``+``, e.g. ``eng+deu``) when every code is installed;
    else ``INVALID_OPTION`` naming the installed languages."""
    installed = installed_languages()
    codes = [code.strip() for code in value.split("+")]
    unknown = [code for code in codes if code not in installed]
    if not unknown:
        return "+".join(codes)
    shown = ", ".join(repr(code[:40]) if code else "an empty code" for code in unknown)
    raise InvalidOption(
        f"option 'language' for {name}: {shown} {'is' if len(unknown) == 1 else 'are'} not installed; "
        f"installed: {', '.join(installed)} (join several with +, e.g. eng+deu; more come with "
        "apt-get install tesseract-ocr-<code>)",
        option="language",
        installed=list(installed),
    )
