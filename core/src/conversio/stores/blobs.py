"""The filesystem store's content-addressed blobs, and the references that say who uses each one.

A blob is placed once per content and is read-only; ``refs/<sha256>/<id>`` names each artifact
that uses it, so that the last one to go frees it without a scan. A blob cut short (by a power
loss, without ``durable``) is never served: its size must match the metadata.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from conversio.stores.base import Artifact
from conversio.stores.disk import fsync_dir, make_dir
from conversio.stores.layout import Layout


@contextmanager
def placing(layout: Layout, content: Path, sha: str, artifact_id: str) -> Iterator[None]:
    """Make ``content`` — a complete, synced file on the store's filesystem — the blob ``sha``
    (or drop it when that blob is there already) and add ``artifact_id``'s reference, under the
    shard's lock; the block then writes the metadata that makes the id visible.

    A failure on the way (a full disk) undoes every part, so no id is left without its blob.
    """
    with layout.writing(sha):
        blob = layout.blob(sha)
        ref = layout.ref(sha, artifact_id)
        placed = False
        try:
            if blob.exists():
                content.unlink()
            else:
                make_dir(blob.parent, layout.durable)
                os.replace(content, blob)
                placed = True
                blob.chmod(0o444)
                fsync_dir(blob.parent, layout.durable)
            make_dir(ref.parent, layout.durable)
            ref.touch(exist_ok=False)
            fsync_dir(ref.parent, layout.durable)
            yield
        except BaseException:
            layout.meta_file(artifact_id).unlink(missing_ok=True)
            ref.unlink(missing_ok=True)
            if placed:  # a new blob: no other artifact has it (the shard's lock is held)
                blob.unlink(missing_ok=True)
                with suppress(OSError):
                    ref.parent.rmdir()
            raise


def release(layout: Layout, sha: str, artifact_id: str) -> None:
    """Drop one reference to a blob; free the blob with the last one (the shard's lock is held)."""
    refs = layout.refs / sha
    (refs / artifact_id).unlink(missing_ok=True)
    try:
        with os.scandir(refs) as others:
            if next(others, None) is not None:
                return
        refs.rmdir()
    except FileNotFoundError:  # references lost in a crash: sweep decides from the metadata
        return
    layout.blob(sha).unlink(missing_ok=True)


def whole_blob(layout: Layout, artifact: Artifact) -> Path | None:
    """The artifact's blob, if it is there whole (its size matches the metadata)."""
    blob = layout.blob(artifact.sha256)
    try:
        whole = blob.stat().st_size == artifact.size
    except FileNotFoundError:
        whole = False
    return blob if whole else None
