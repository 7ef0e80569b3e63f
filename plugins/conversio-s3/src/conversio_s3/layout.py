"""Where the S3 store keeps what under its prefix, and what the keys themselves tell.

    blobs/ab/<sha256>                content, one object per content, shared by every artifact with it
    refs/<sha256>/<id>/<record>      an empty object per artifact using a blob, written first
    meta/<id>.json                   one artifact's metadata, written last: the id is visible complete
    cache/<key>/i.<id>.<id>…         an empty object per result cache entry: the ids it names

A reference's key carries the artifact's record (name, format, size, creation and expiry, in
unpadded URL-safe base64 of JSON), so that ``list`` and ``sweep`` learn every artifact from listing
the keys, a thousand a request, without reading an object per artifact. S3 keys hold at most
1,024 bytes: a record too long for one (a very long name) is left out (``refs/<sha256>/<id>``, as
the store's first layout wrote every reference) and the metadata object is read instead. So is a
cache entry's list of ids (``cache/<key>/list.json``, a JSON object with them).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

import attrs

from conversio.stores.base import Artifact
from conversio.stores.common import check_cache_key, is_artifact_id, is_sha256

#: The longest key S3 (and the servers compatible with it) accepts, in bytes of UTF-8.
MAX_KEY_BYTES = 1024
#: The name of a cache entry whose ids are in its content, not its key.
CACHE_LIST = "list.json"
_IDS = "i"


@attrs.frozen
class Ref:
    """A reference as listed: its key, the blob it keeps, its artifact's id, the artifact when the key
    carries its record, and when it was written (a unix time)."""

    key: str
    sha256: str
    artifact_id: str
    artifact: Artifact | None
    written: float


@attrs.frozen
class Layout:
    """The keys of one store: everything under ``prefix`` (none: the whole bucket)."""

    prefix: str = ""

    def key(self, *parts: str) -> str:
        """The object key of ``parts`` under the prefix."""
        return "/".join((self.prefix, *parts) if self.prefix else parts)

    def folder(self, *parts: str) -> str:
        """The key prefix of everything under ``parts`` (ends with ``/``)."""
        return self.key(*parts) + "/"

    def blob(self, sha: str) -> str:
        return self.key("blobs", sha[:2], sha)

    def meta(self, artifact_id: str) -> str:
        return self.key("meta", f"{artifact_id}.json")

    def meta_id(self, key: str) -> str:
        """The artifact id of the metadata object ``key``."""
        return key.rsplit("/", 1)[-1].removesuffix(".json")

    def ref_keys(self, artifact: Artifact) -> tuple[str, str]:
        """The key of ``artifact``'s reference, and the key without its record (the form of a record
        too long for a key, and of the first layout)."""
        bare = self.key("refs", artifact.sha256, artifact.id)
        fields = [artifact.name, artifact.format, artifact.size, artifact.created, artifact.expires]
        record = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode())
        full = f"{bare}/{record.decode().rstrip('=')}"
        return (full if len(full.encode()) <= MAX_KEY_BYTES else bare), bare

    def parse_ref(self, key: str, written: datetime) -> Ref | None:
        """The reference listed as ``key``; ``None`` for a key that is not one."""
        parts = key.removeprefix(self.folder("refs")).split("/")
        if len(parts) not in (2, 3) or not is_sha256(parts[0]) or not is_artifact_id(parts[1]):
            return None
        artifact = _artifact(parts[1], parts[0], parts[2]) if len(parts) == 3 else None
        return Ref(key, parts[0], parts[1], artifact, written.timestamp())

    def cache_entry(self, key: str, artifact_ids: list[str]) -> str:
        """The key of a cache entry naming ``artifact_ids`` (:data:`CACHE_LIST` when they do not fit)."""
        entry = self.key("cache", check_cache_key(key), ".".join([_IDS, *artifact_ids]))
        return entry if len(entry.encode()) <= MAX_KEY_BYTES else self.key("cache", key, CACHE_LIST)

    def cache_ids(self, entry: str) -> list[str] | None:
        """The ids a cache entry's key names; ``None`` when they are in its content (or it is none)."""
        name = entry.rsplit("/", 1)[-1]
        if name != _IDS and not name.startswith(_IDS + "."):
            return None
        return name.split(".")[1:]


def _artifact(artifact_id: str, sha: str, record: str) -> Artifact | None:
    """The artifact a reference's record tells; ``None`` when it is not a valid one."""
    try:
        name, fmt, size, created, expires = json.loads(
            base64.urlsafe_b64decode(record + "=" * (-len(record) % 4))
        )
        return Artifact(artifact_id, name, fmt, size, sha, created, expires)
    except (ValueError, TypeError):
        return None
