"""Hook implementations of conversio-s3, and nothing else.

Imported whenever conversio starts: it registers the ``s3`` store scheme by name and imports
neither boto3 nor the store (they load when an ``s3://`` store is opened).
"""

from __future__ import annotations

from conversio.plugin import ArtifactStore, StoreRegistrar, hookimpl


def open_s3_store(url: str) -> ArtifactStore:
    """``s3://bucket/prefix?endpoint=...&region=...&path_style=1``: see :mod:`conversio_s3.settings`."""
    from conversio_s3.store import S3Store

    return S3Store.from_url(url)


@hookimpl
def register_stores(stores: StoreRegistrar) -> None:
    stores.add("s3", open_s3_store)
