"""A text watermark drawn into a page's content stream (standard Helvetica, no font file needed)."""

from __future__ import annotations

import math

import pikepdf

#: Helvetica's mean advance width, in em: enough to centre a short text.
_MEAN_WIDTH = 0.55


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def stamp_text(
    pdf: pikepdf.Pdf, page: pikepdf.Page, text: str, opacity: float, position: str, font_size: float
) -> None:
    """Draw ``text`` over ``page``: ``diagonal`` or ``center`` in the middle, or at the ``top``/``bottom``.

    The page's own content is wrapped in ``q``/``Q`` first, so its graphics
    state cannot leak into the stamp. Characters outside Windows-1252 become ``?``.
    """
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type1,
            BaseFont=pikepdf.Name.Helvetica,
            Encoding=pikepdf.Name.WinAnsiEncoding,
        )
    )
    state = pikepdf.Dictionary(Type=pikepdf.Name.ExtGState, ca=opacity, CA=opacity)
    font_name = page.add_resource(font, pikepdf.Name.Font, prefix="CvFont")
    state_name = page.add_resource(state, pikepdf.Name.ExtGState, prefix="CvState")
    box = pikepdf.Rectangle(page.cropbox)
    width = _MEAN_WIDTH * font_size * len(text)
    centre_x, centre_y = box.llx + box.width / 2, box.lly + box.height / 2
    angle = math.atan2(box.height, box.width) if position == "diagonal" else 0.0
    if position == "top":
        centre_y = box.ury - font_size
    elif position == "bottom":
        centre_y = box.lly + font_size
    cos, sin = math.cos(angle), math.sin(angle)
    matrix = " ".join(_number(v) for v in (cos, sin, -sin, cos, centre_x, centre_y))
    encoded = text.encode("cp1252", errors="replace").hex()
    stamp = (
        f"\nQ q {state_name} gs 0.5 g BT {font_name} {_number(font_size)} Tf {matrix} Tm "
        f"{_number(-width / 2)} {_number(-font_size / 3)} Td <{encoded}> Tj ET Q\n"
    )
    page.contents_add(pdf.make_stream(b"q\n"), prepend=True)
    page.contents_add(pdf.make_stream(stamp.encode("ascii")))
