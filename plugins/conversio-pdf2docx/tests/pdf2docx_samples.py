"""PDFs for conversio-pdf2docx's tests, drawn with PyMuPDF: text, ruled and borderless tables,
pictures, scans, rotated text, encryption. Each sentence's words are distinct, so order shows."""

from __future__ import annotations

import io
from pathlib import Path

import docx  # type: ignore[import-untyped]
import pymupdf  # type: ignore[import-untyped]
from docx.oxml.ns import qn  # type: ignore[import-untyped]
from PIL import Image

A4 = (595, 842)
SENTENCES = [
    "Alpha bravo charlie delta echo foxtrot golf hotel.",
    "India juliet kilo lima mike november oscar papa.",
    "Quebec romeo sierra tango uniform victor whiskey xray.",
]
CELLS = [[f"r{row}c{col}" for col in range(4)] for row in range(3)]
LEDGER = [
    ["item", "count", "price", "code"],
    ["apples", "12", "-3.5", "007"],
    ["pears", "1,200", "0.25", "=1+1"],
]


def png(size: tuple[int, int] = (240, 120), colour: str = "orange") -> bytes:
    picture = Image.new("RGB", size, "white")
    picture.paste(colour, (20, 20, size[0] - 20, size[1] - 20))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return buffer.getvalue()


def write_lines(page: pymupdf.Page, lines: list[str], top: float) -> float:
    """``lines`` in Helvetica 11 from ``top`` at the left margin; the y below them."""
    for line in lines:
        page.insert_text((72, top), line, fontsize=11, fontname="helv")
        top += 18
    return top


def draw_table(page: pymupdf.Page, cells: list[list[str]], top: float, *, ruled: bool = True) -> float:
    """A grid of ``cells`` (with its lines when ``ruled``) from ``top``; the y below it."""
    width, height = 110.0, 22.0
    for row, texts in enumerate(cells):
        for col, text in enumerate(texts):
            box = pymupdf.Rect(
                72 + col * width, top + row * height, 72 + (col + 1) * width, top + (row + 1) * height
            )
            if ruled:
                page.draw_rect(box, color=(0, 0, 0), width=0.8)
            page.insert_text((box.x0 + 6, box.y1 - 7), text, fontsize=10, fontname="helv")
    return top + len(cells) * height + 24


def report(path: Path) -> Path:
    """One page: two paragraphs, a ruled 3 x 4 table, a picture, a last paragraph."""
    document = pymupdf.open()
    page = document.new_page(width=A4[0], height=A4[1])
    top = write_lines(page, SENTENCES[:2], 90)
    top = draw_table(page, CELLS, top + 12)
    page.insert_image(pymupdf.Rect(72, top, 312, top + 120), stream=png())
    write_lines(page, SENTENCES[2:], top + 150)
    document.save(path)
    return path


def pages(path: Path, count: int = 3, **save: object) -> Path:
    """``count`` pages, page N saying "Page N" and the N-th of :data:`SENTENCES` (cycled)."""
    document = pymupdf.open()
    for number in range(1, count + 1):
        page = document.new_page(width=A4[0], height=A4[1])
        write_lines(page, [f"Page {number}", SENTENCES[(number - 1) % len(SENTENCES)]], 90)
    document.save(path, **save)
    return path


def encrypted(path: Path, password: str) -> Path:
    """Three text pages under AES-256 with ``password`` to open them."""
    return pages(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password + "-owner")


def scan(path: Path, *, text_first: bool = False) -> Path:
    """A page that is only a picture (after a text page when ``text_first``)."""
    document = pymupdf.open()
    if text_first:
        write_lines(document.new_page(width=A4[0], height=A4[1]), SENTENCES, 90)
    page = document.new_page(width=A4[0], height=A4[1])
    page.insert_image(page.rect, stream=png((600, 840), "grey"))
    document.save(path)
    return path


def blank(path: Path) -> Path:
    document = pymupdf.open()
    document.new_page(width=A4[0], height=A4[1])
    document.save(path)
    return path


def sideways(path: Path) -> Path:
    """A page whose only text runs upwards (rotated 90 degrees)."""
    document = pymupdf.open()
    page = document.new_page(width=A4[0], height=A4[1])
    for index, sentence in enumerate(SENTENCES * 3):
        page.insert_text((100 + 20 * index, 700), sentence, fontsize=11, fontname="helv", rotate=90)
    document.save(path)
    return path


def borderless(path: Path) -> Path:
    """A sentence, a 3 x 4 table of aligned text without lines, a sentence."""
    document = pymupdf.open()
    page = document.new_page(width=A4[0], height=A4[1])
    top = write_lines(page, SENTENCES[:1], 90)
    top = draw_table(page, CELLS, top + 12, ruled=False)
    write_lines(page, SENTENCES[1:2], top)
    document.save(path)
    return path


def body_words(path: Path) -> list[str]:
    """The words of a Word document in reading order: paragraphs and table cells as they come."""
    body = docx.Document(str(path)).element.body
    return " ".join(node.text for node in body.iter(qn("w:t"))).replace(".", " ").split()


def ledger(path: Path) -> Path:
    """A ruled table of a header row, numbers, a code with a leading zero and a formula-like text."""
    document = pymupdf.open()
    page = document.new_page(width=A4[0], height=A4[1])
    top = write_lines(page, SENTENCES[:1], 90)
    draw_table(page, LEDGER, top + 12)
    document.save(path)
    return path
