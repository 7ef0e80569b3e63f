"""Every real-world archive of the shared corpus unpacks to what its own library lists.

The expected members are read directly with zipfile, tarfile or py7zr (regular
files only, names made safe by the same rule); an encrypted archive must fail
with INVALID_PASSWORD without its password (from the manifest's notes) and
unpack with it.
"""

from __future__ import annotations

import hashlib
import re
import tarfile
import zipfile
from pathlib import Path

import py7zr
import pytest
from conversio_archive.names import UniqueNames

import conversio
from conversio.converters import safe_relpath
from conversio.errors import ConversioError
from conversio.testing import corpus_files

ARCHIVES = corpus_files("archives")
_PASSWORD = re.compile(r"password '([^']*)'")


def reference(path: Path, fmt: str, password: str | None, scratch: Path) -> dict[str, str]:
    """Member name -> sha256 of the regular files, straight from the format's library."""
    if fmt == "zip":
        with zipfile.ZipFile(path) as zf:
            pwd = password.encode() if password else None
            return {
                i.filename: hashlib.sha256(zf.read(i, pwd=pwd)).hexdigest()
                for i in zf.infolist()
                if not i.is_dir()
            }
    if fmt == "7z":
        with py7zr.SevenZipFile(path, password=password) as sz:
            names = [f.filename for f in sz.files if f.is_file and not f.is_symlink]
            sz.extractall(scratch)
        return {n: hashlib.sha256((scratch / n).read_bytes()).hexdigest() for n in names}
    with tarfile.open(path) as tf:
        found = {}
        for member in tf.getmembers():
            src = tf.extractfile(member) if member.isreg() else None
            if src is not None:
                found[member.name] = hashlib.sha256(src.read()).hexdigest()
        return found


@pytest.mark.corpus
@pytest.mark.parametrize(("path", "row"), ARCHIVES, ids=[p.name for p, _ in ARCHIVES])
def test_corpus_archive_unpacks_like_its_library_lists_it(
    app: conversio.Conversio, path: Path, row: dict[str, str], tmp_path: Path
) -> None:
    match = _PASSWORD.search(row["notes"])
    password = match.group(1) if match else None
    expected = reference(path, row["format"], password, tmp_path)
    assert expected, f"{path.name} has no regular files?"
    names = UniqueNames()
    expected_safe = {names.claim(safe_relpath(name)): digest for name, digest in expected.items()}

    if password is not None:
        with pytest.raises(ConversioError) as info:
            app.convert(path, to="*").run()
        assert info.value.code == "INVALID_PASSWORD"

    result = app.convert(path, to="*", options={"password": password} if password else None).run()
    assert result.steps and row["format"] in result.steps[0]
    got = {a.name: hashlib.sha256(app.store.open(a.id).read()).hexdigest() for a in result.artifacts}
    assert len(result.artifacts) == len(expected)
    assert got == expected_safe
