"""Option values as the command line writes them: ``-O key=value`` and ``--then op:k=v,k=v``.

One rule for every value: ``@path`` is the text of the file at ``path`` (UTF-8, at most
:data:`MAX_FILE_BYTES`, one final line break dropped), ``@@text`` is the literal ``@text``.
In ``--then``, where commas separate options, a value may also hold commas when it is
quoted as a JSON string (``text="Hello, world"``) or is a JSON object or array
(``data={"name": "Ada", "agree": true}``, kept as written). Every value stays text: the
converter's option schema parses it, as it parses ``-O`` values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from conversio.errors import InvalidOption, InvalidRequest

#: The largest file an ``@path`` value may name.
MAX_FILE_BYTES = 1024 * 1024
_KEY = re.compile(r"\s*([A-Za-z_][\w-]*)\s*=")
_JSON = json.JSONDecoder()


def parse_pairs(pairs: Sequence[str], what: str) -> dict[str, str]:
    """``["a=1", "b=@notes.txt"]`` → ``{"a": "1", "b": <the file's text>}``."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidRequest(f"{what} {pair!r} is not key=value", value=pair)
        result[key.strip()] = option_value(key.strip(), value)
    return result


def parse_then(text: str) -> tuple[str, dict[str, str]]:
    """``'watermark:text="Hello, world",opacity=0.5'`` → ``("watermark", {...})``."""
    name, _, rest = text.partition(":")
    options: dict[str, str] = {}
    at = 0
    while at < len(rest):
        if rest[at] == "," or rest[at].isspace():
            at += 1
            continue
        match = _KEY.match(rest, at)
        if match is None:
            piece = rest[at:].split(",", 1)[0]
            raise InvalidRequest(f"--then option {piece!r} is not key=value", value=piece)
        key, at = match.group(1), match.end()
        value, at = _then_value(key, rest, at)
        options[key] = value
    return name.strip(), options


def _then_value(key: str, text: str, at: int) -> tuple[str, int]:
    """The value of ``key`` starting at ``text[at]``, and where the next option starts."""
    if text.startswith(('"', "{", "["), at):
        try:
            decoded, end = _JSON.raw_decode(text, at)
        except ValueError:
            if text[at] == '"':
                raise InvalidRequest(
                    f"--then option {key!r}: the quoted value is not closed (a JSON string)", option=key
                ) from None
        else:
            if end == len(text) or text[end] == ",":
                return (decoded if text[at] == '"' else text[at:end]), end
            if text[at] == '"':
                raise InvalidRequest(
                    f"--then option {key!r}: a comma must follow the quoted value", option=key
                )
    end = text.find(",", at)
    end = len(text) if end < 0 else end
    return option_value(key, text[at:end]), end


def option_value(key: str, value: str) -> str:
    """``value`` as given, the text of the file it names (``@path``) or ``@...`` (``@@...``)."""
    if value.startswith("@@"):
        return value[1:]
    if not value.startswith("@"):
        return value
    return read_value_file(key, value[1:])


def read_value_file(key: str, name: str) -> str:
    """The text of the file ``name`` for option ``key``; ``INVALID_OPTION`` naming the file when it
    cannot be read, is not UTF-8 or is larger than :data:`MAX_FILE_BYTES`."""

    def refused(why: str) -> InvalidOption:
        return InvalidOption(f"option {key!r}: the file {name!r} {why}", option=key, file=name)

    if not name:
        raise refused("is not named: write @ and a file name (@@ for a value starting with @)")
    try:
        with Path(name).expanduser().open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise refused("does not exist (write @@ for a value starting with @)") from None
    except IsADirectoryError:
        raise refused("is a folder, not a file") from None
    except OSError as exc:
        raise refused(f"cannot be read ({exc.strerror or 'unreadable'})") from None
    if len(data) > MAX_FILE_BYTES:
        raise refused(f"is larger than {MAX_FILE_BYTES // 1024} KiB, the limit for an option value")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refused("is not UTF-8 text") from None
    return text.removesuffix("\n").removesuffix("\r")
