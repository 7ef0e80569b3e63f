"""Member names: safe, relative, and unique (as files and as folders)."""

from __future__ import annotations

import pytest
from conversio_archive.names import UniqueNames, numbered

from conversio.converters import MAX_NAME_BYTES, safe_relpath


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("docs/a.pdf", "docs/a.pdf"),
        ("../evil", "evil"),
        ("../../../../etc/passwd", "etc/passwd"),
        ("/etc/x", "etc/x"),
        ("a/../../b", "a/b"),
        ("./a/./b", "a/b"),
        ("C:\\Windows\\system.ini", "Windows/system.ini"),
        ("c:evil.txt", "evil.txt"),
        ("dir\\..\\..\\x.txt", "dir/x.txt"),
        ("//server/share/x", "server/share/x"),
        ("a\x00b/c\nd", "a_b/c_d"),
        ("..", "file"),
        ("", "file"),
    ],
)
def test_safe_relpath_stays_inside(raw: str, safe: str) -> None:
    assert safe_relpath(raw) == safe


def test_long_names_are_shortened_in_bytes_keeping_the_extension() -> None:
    name = "é" * 300 + ".pdf"
    safe = safe_relpath(f"folder/{name}")
    folder, leaf = safe.split("/")
    assert folder == "folder"
    assert leaf.endswith(".pdf")
    assert len(leaf.encode("utf-8")) <= MAX_NAME_BYTES
    assert leaf.startswith("é")


def test_numbered_keeps_compound_extensions() -> None:
    assert numbered("a.png", 2) == "a (2).png"
    assert numbered("backup.tar.gz", 3) == "backup (3).tar.gz"
    assert numbered("README", 2) == "README (2)"


def test_duplicates_get_stable_suffixes() -> None:
    names = UniqueNames()
    claimed = [names.claim(n) for n in ["a.png", "a.png", "A.PNG", "b/a.png", "a.png"]]
    assert claimed == ["a.png", "a (2).png", "A (3).PNG", "b/a.png", "a (4).png"]


def test_files_and_folders_never_collide() -> None:
    names = UniqueNames()
    assert names.claim("docs") == "docs"  # a file called docs
    assert names.claim("docs/a.txt") == "docs (2)/a.txt"  # the folder moves aside
    assert names.claim("docs/b.txt") == "docs (2)/b.txt"  # and stays there
    assert names.claim("img/x.png") == "img/x.png"
    assert names.claim("img") == "img (2)"  # a file cannot take a folder's name
