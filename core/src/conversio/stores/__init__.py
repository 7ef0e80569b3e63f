"""Artifact stores: the protocol, and the built-in ``memory`` and ``file`` backends."""

from __future__ import annotations

from conversio.stores.base import Artifact, ArtifactStore


def open_memory_store(url: str) -> ArtifactStore:
    """``memory://`` — a store that lives as long as the process (tests)."""
    from conversio.stores.memory import MemoryStore

    return MemoryStore()


def open_filesystem_store(url: str) -> ArtifactStore:
    """``file:///path/to/dir`` — the default local, content-addressed store."""
    from conversio.stores.filesystem import FilesystemStore

    return FilesystemStore.from_url(url)


__all__ = ["Artifact", "ArtifactStore", "open_filesystem_store", "open_memory_store"]
