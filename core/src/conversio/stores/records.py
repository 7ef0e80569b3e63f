"""The filesystem store's JSON records: artifact metadata (``meta/``) and result-cache entries
(``cache/``), each written atomically in one piece and read defensively: a damaged or foreign
file is no record.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conversio.stores.base import Artifact
from conversio.stores.common import is_artifact_id, is_sha256, not_found
from conversio.stores.disk import entries, fsync_dir, write_all
from conversio.stores.layout import Layout


def write_record(layout: Layout, path: Path, data: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``data`` as JSON, written in one piece."""
    content = json.dumps(data).encode()
    fd, tmp = layout.new_tmp("json-")
    try:
        try:
            write_all(fd, content)
            if layout.durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent, layout.durable)


def read_meta(layout: Layout, artifact_id: str) -> Artifact:
    """The metadata of ``artifact_id``, expired or not; ``FILE_NOT_FOUND`` if there is none."""
    if not is_artifact_id(artifact_id):
        raise not_found(artifact_id)
    artifact = _load_artifact(layout.meta_file(artifact_id))
    if artifact is None or artifact.id != artifact_id:
        raise not_found(artifact_id)
    return artifact


def scan_meta(layout: Layout) -> Iterator[tuple[Path, Artifact | None]]:
    """Every metadata file, with its artifact (``None``: not a valid metadata file)."""
    for path in entries(layout.meta):
        artifact_id = path.name.removesuffix(".json")
        artifact = _load_artifact(path) if is_artifact_id(artifact_id) else None
        yield path, (artifact if artifact is not None and artifact.id == artifact_id else None)


def _load_artifact(path: Path) -> Artifact | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        artifact = Artifact(**data)
    except (FileNotFoundError, NotADirectoryError, ValueError, TypeError):
        return None
    return artifact if is_sha256(artifact.sha256) else None


def load_ids(path: Path) -> list[str] | None:
    """The artifact ids of the cache entry at ``path``."""
    try:
        ids = json.loads(path.read_text(encoding="utf-8"))["artifacts"]
    except (FileNotFoundError, NotADirectoryError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return None
    return ids
