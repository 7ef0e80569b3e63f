"""Bundles: several results as one zip file for a response."""

from __future__ import annotations

import os
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

from conversio.api import unique_name
from conversio.converters import safe_relpath
from conversio.stores.base import Artifact, ArtifactStore
from conversio.stores.space import refusing_full


def write_zip(
    store: ArtifactStore, artifacts: Sequence[Artifact], folder: Path, names: Sequence[str] = ()
) -> Path:
    """A zip of the artifacts in a new file in ``folder`` (the caller removes it), each under its
    name or the one ``names`` gives it; on a full disk ``INSUFFICIENT_STORAGE``, with no half-written
    zip left. Blocking."""
    with refusing_full("the zip of the results"):
        fd, zip_path = tempfile.mkstemp(dir=folder, prefix="bundle-", suffix=".zip")
    used: set[str] = set()
    try:
        with (
            refusing_full("the zip of the results"),
            os.fdopen(fd, "wb") as handle,
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive,
        ):
            for artifact, name in zip(artifacts, names or [a.name for a in artifacts], strict=True):
                member = unique_name(safe_relpath(name), used)
                info = zipfile.ZipInfo(member, time.gmtime(artifact.created)[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                with store.open(artifact.id) as source, archive.open(info, "w") as target:
                    while chunk := source.read(1 << 20):
                        target.write(chunk)
    except BaseException:
        Path(zip_path).unlink(missing_ok=True)
        raise
    return Path(zip_path)
