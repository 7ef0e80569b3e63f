"""What every store backend shares: artifact ids, expiry, cache keys, chunked hashing."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from typing import BinaryIO

from conversio.errors import ArtifactNotFound, InvalidOption
from conversio.stores.base import Artifact, Digest

#: Content is read, hashed and written in pieces of this size; never as a whole.
CHUNK_SIZE = 1 << 20

_ARTIFACT_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CACHE_KEY = re.compile(r"[0-9a-fA-F]{1,128}")


def new_artifact_id() -> str:
    """A fresh random, url-safe id (128 bits, 22 characters)."""
    return secrets.token_urlsafe(16)


def is_artifact_id(value: object) -> bool:
    """Whether ``value`` has the shape of an artifact id (so it is safe in a file name)."""
    return isinstance(value, str) and _ARTIFACT_ID.fullmatch(value) is not None


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def not_found(artifact_id: object) -> ArtifactNotFound:
    return ArtifactNotFound(f"no stored file has the id {artifact_id!r}", id=str(artifact_id))


def check_ttl(ttl: float | None, what: str = "ttl") -> float | None:
    """``ttl`` itself when it is ``None`` or a positive, finite number of seconds."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl) or ttl <= 0:
        raise InvalidOption(f"{what} must be a positive number of seconds, not {ttl!r}", option=what)
    return float(ttl)


def new_artifact(
    artifact_id: str, name: str, format: str, digest: Digest, ttl: float | None, default_ttl: float | None
) -> Artifact:
    """The record of content stored now: its expiry from ``ttl``, else the store's ``default_ttl``."""
    created = time.time()
    return Artifact(
        id=artifact_id,
        name=name,
        format=format,
        size=digest.size,
        sha256=digest.sha256,
        created=created,
        expires=expires_at(created, ttl, default_ttl),
    )


def expires_at(created: float, ttl: float | None, default_ttl: float | None) -> float | None:
    """When an artifact stored at ``created`` expires (``None``: kept until deleted)."""
    seconds = check_ttl(ttl) if ttl is not None else default_ttl
    return None if seconds is None else created + seconds


def check_cache_key(key: str) -> str:
    """``key`` when it is a hex string (cache keys are digests; they become file names)."""
    if not isinstance(key, str) or _CACHE_KEY.fullmatch(key) is None:
        raise ValueError(f"a cache key is a hex string of at most 128 digits, not {key!r}")
    return key


def copy_hashing(source: BinaryIO, target: BinaryIO | None = None) -> Digest:
    """Read ``source`` to its end chunk by chunk, copying to ``target``; return its digest."""
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(CHUNK_SIZE):
        digest.update(chunk)
        size += len(chunk)
        if target is not None:
            target.write(chunk)
    return Digest(digest.hexdigest(), size)
