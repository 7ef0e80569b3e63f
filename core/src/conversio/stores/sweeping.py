"""Sweeping the filesystem store: expired artifacts go, then every blob, reference, cache entry
and temporary file that no live artifact needs (the left-overs of crashes, too).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from conversio.stores.disk import entries, in_use, make_dir, remove_tree
from conversio.stores.layout import Layout
from conversio.stores.owners import owner_gone
from conversio.stores.records import load_ids, scan_meta

#: Entries of ``tmp/`` not in use whose owner process has died are left-overs of a crash;
#: so are those untouched for this long (made on another host, or leaked by a live process).
STALE_AFTER = 3600.0


def sweep_store(layout: Layout, now: float) -> int:
    """Sweep the store at ``layout`` as of ``now``; how many expired artifacts were deleted."""
    deleted = 0
    live: dict[str, str] = {}
    with layout.sweeping():
        for path, artifact in scan_meta(layout):
            if artifact is not None and not artifact.expired(now):
                live[artifact.id] = artifact.sha256
                continue
            path.unlink(missing_ok=True)
            deleted += artifact is not None
        _sweep_refs(layout, live)
        _sweep_blobs(layout, set(live.values()))
        _sweep_cache(layout, live)
        _sweep_tmp(layout, now)
    return deleted


def _shards(directory: Path) -> Iterator[Path]:
    """The shard directories under ``directory``; anything else there is removed."""
    for shard in entries(directory):
        if not shard.is_dir() or shard.is_symlink():
            shard.unlink()
            continue
        yield shard


def _sweep_refs(layout: Layout, live: dict[str, str]) -> None:
    for shard in _shards(layout.refs):
        for ref in entries(shard):
            if live.get(ref.name) != shard.name:
                ref.unlink()
        if not entries(shard):
            shard.rmdir()
    for artifact_id, sha in live.items():  # repair references a crash lost
        ref = layout.ref(sha, artifact_id)
        if not ref.exists():
            make_dir(ref.parent, layout.durable)
            ref.touch()


def _sweep_blobs(layout: Layout, used: set[str]) -> None:
    for shard in _shards(layout.blobs):
        for blob in entries(shard):
            if blob.name not in used:
                blob.unlink()


def _sweep_cache(layout: Layout, live: dict[str, str]) -> None:
    for path in entries(layout.cache):
        ids = load_ids(path)
        if ids is None or any(artifact_id not in live for artifact_id in ids):
            path.unlink(missing_ok=True)


def _sweep_tmp(layout: Layout, now: float) -> None:
    for path in entries(layout.tmp):
        try:
            age = now - path.lstat().st_mtime
        except FileNotFoundError:
            continue
        if (age > STALE_AFTER or owner_gone(path.name)) and not in_use(path):
            if path.is_dir() and not path.is_symlink():
                remove_tree(path)
            else:
                path.unlink(missing_ok=True)
