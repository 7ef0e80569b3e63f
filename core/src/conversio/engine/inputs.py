"""What the engine checks and says about the files a stage takes: text is rendered only when
asked for, a file is passed on unchanged only when its name does not deny it, and a message
names the user's files with what each was taken for."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack

from conversio.converters import InputFile
from conversio.engine.stages import ConvertStage
from conversio.engine.state import Item, Run, names
from conversio.errors import FormatMismatch, UnsupportedFormat, listed
from conversio.formats import FormatRegistry, Kind
from conversio.sniffing import ConfirmHook, claimed_format

#: Kinds a text file is rendered into only when the user asks (a ``via``, or a name that says text).
RENDERED_FROM_TEXT = frozenset({Kind.IMAGE, Kind.AUDIO, Kind.VIDEO})
#: ``local(stack, item)``: a converter's view of ``item``, open until ``stack`` closes.
LocalFile = Callable[[ExitStack, Item], InputFile]


def title(formats: FormatRegistry, fmt: str) -> str:
    """A format as a user calls it: ``plain text``, ``PDF document``, ``JSON``."""
    if fmt not in formats:
        return fmt
    words = formats.get(fmt).description.split(" (")[0] or fmt
    return words if words[:2].isupper() else words[0].lower() + words[1:]


class InputChecks:
    """The checks of a stage's files, and their names in its messages."""

    def __init__(self, formats: FormatRegistry, confirm: ConfirmHook | None, local: LocalFile) -> None:
        self.formats = formats
        self.confirm = confirm
        self.local = local

    def subject(self, items: Sequence[Item], run: Run) -> str:
        """How a message names ``items``: by their names when a step of the run made them, else
        as :meth:`taken`."""
        if any(run.made(item) for item in items):
            return names(items)
        return self.taken([item.name for item in items], [item.format for item in items])

    def taken(self, shown: Sequence[str], formats: Sequence[str]) -> str:
        """``data.yaml (taken as plain text, txt)``: the user's files named ``shown`` and what they
        were taken for, when they are of one format; else their names ("" for no names)."""
        if not shown:
            return ""
        kinds = set(formats)
        if len(kinds) != 1:
            return listed(shown)
        fmt = kinds.pop()
        return f"{listed(shown)} (taken as {title(self.formats, fmt)}, {fmt})"

    def rendering(self, stage: ConvertStage, items: Sequence[Item]) -> None:
        """Text becomes a picture, a sound or a video only when the user asks for it: with a
        ``via``, or by a name that says the file is text (``notes.txt``). A file only guessed
        to be text (no name, or an unknown extension) is refused for what it is."""
        formats = self.formats
        if (
            stage.via
            or stage.target not in formats
            or formats.get(stage.target).kind not in RENDERED_FROM_TEXT
        ):
            return
        for item in items:
            text = item.format in formats and formats.get(item.format).kind is Kind.TEXT
            if text and claimed_format(item.name, formats) != item.format:
                kind = formats.get(stage.target).kind.value
                raise UnsupportedFormat(
                    f"{item.name} is {title(formats, item.format)}, not {kind}; to render it as "
                    f"{stage.target} anyway, ask for the route (for example via pdf) or name it as "
                    f"{item.format}",
                    file=item.name,
                    format=item.format,
                    target=stage.target,
                )

    def passthrough(self, items: Sequence[Item], target: str) -> None:
        """A file that is already ``target`` is passed on unchanged, under ``target``'s name.
        When its own name says otherwise, the plugin that reads ``target`` must not deny that
        the content parses as it: a wrong guess is never handed back renamed."""
        if self.confirm is None:
            return
        for item in items:
            claimed = claimed_format(item.name, self.formats)
            if claimed is None or claimed == item.format:
                continue
            with ExitStack() as stack:
                if self.confirm(self.local(stack, item).path, item.format) is not False:
                    continue
            raise FormatMismatch(
                f"{item.name} is named as {claimed} and its content could not be read as {item.format}; "
                f"check that it is the file you meant",
                file=item.name,
                claimed=claimed,
                format=item.format,
            )
