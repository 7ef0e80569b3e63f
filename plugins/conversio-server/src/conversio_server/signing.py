"""Signed download URLs: ``…/content?expires=<unix time>&signature=<hex HMAC-SHA256>``.

The signature covers the file id and the expiry, so a link opens one file until it
expires and cannot be edited into another. The secret is the server's: configured, or a
random one created once and kept next to a SQLite database (:func:`load_or_create_secret`),
or in a shared database itself (:func:`shared_secret`), so that every host of a deployment
signs and checks links alike.

With ``download_links = "store"`` the links are the store's own instead (:class:`StoreLinks`,
such as S3's presigned URLs): downloads go to the object store and never through the server.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import attrs
import sqlalchemy as sa

from conversio.errors import InvalidOption
from conversio.stores.base import Artifact, PresigningStore
from conversio_server.database import metadata
from conversio_server.errors import ApiError

if TYPE_CHECKING:
    from conversio.api import Conversio
    from conversio_server.settings import ServerSettings

SECRET_BYTES = 32


def _key(secret: bytes | str) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def sign(file_id: str, expires_at: int, secret: bytes | str) -> str:
    """The hex HMAC-SHA256 of ``file_id`` and ``expires_at`` (a unix time in seconds)."""
    message = f"{file_id}\n{int(expires_at)}".encode()
    return hmac.new(_key(secret), message, hashlib.sha256).hexdigest()


def verify(
    file_id: str, expires: int | str, signature: str, secret: bytes | str, now: float | None = None
) -> bool:
    """Whether ``signature`` was made for ``file_id`` and ``expires`` with ``secret`` and has not expired.

    The comparison is constant-time; malformed input is simply not valid.
    """
    try:
        expires_at = int(expires)
    except (TypeError, ValueError):
        return False
    if (time.time() if now is None else now) > expires_at:
        return False
    expected = sign(file_id, expires_at, secret)
    return hmac.compare_digest(expected.encode(), str(signature).encode("utf-8", "replace"))


def load_or_create_secret(path: Path) -> bytes:
    """The secret kept in ``path``, created (random, owner-only permissions) when missing."""
    try:
        data = path.read_bytes().strip()
    except FileNotFoundError:
        data = b""
    if data:
        return data
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = secrets.token_hex(SECRET_BYTES).encode()
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(fresh)
    try:  # a hard link never replaces: the first writer wins and concurrent starts agree
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink(missing_ok=True)
    data = path.read_bytes().strip()
    if not data:
        raise RuntimeError(f"the secret file {path} is empty: remove it and a new secret is made")
    return data


def secret_path_for(database_url: str, fallback_dir: Path) -> Path:
    """Where the generated secret lives: beside a SQLite database file, else in ``fallback_dir``."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(database_url)
    except Exception:
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(str(url.database)).with_name("signing.key")
    return fallback_dir / "signing.key"


#: Secrets every host sharing a database must agree on (one row: the link-signing secret).
server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(128), nullable=False),
)
_SIGNING = "link-signing"


def shared_secret(engine: sa.Engine) -> bytes:
    """The link-signing secret kept in the database of ``engine``, created by whichever host asks
    first (the others read the same row)."""
    query = sa.select(server_secrets.c.value).where(server_secrets.c.name == _SIGNING)
    with engine.connect() as db:
        value = db.execute(query).scalar()
    if value is None:
        try:
            fresh = secrets.token_hex(SECRET_BYTES)
            with engine.begin() as db:
                db.execute(server_secrets.insert().values(name=_SIGNING, value=fresh))
        except sa.exc.IntegrityError:
            pass  # another host created it first
        with engine.connect() as db:
            value = db.execute(query).scalar_one()
    return str(value).encode()


@attrs.frozen
class StoreLinks:
    """Download links the store signs itself: ``media_type`` gives each format's Content-Type."""

    store: PresigningStore
    media_type: Callable[[str], str]

    @classmethod
    def of(cls, conversio: Conversio, store_url: str) -> StoreLinks:
        """The links of ``conversio``'s store (at ``store_url``); ``INVALID_OPTION`` when that store
        cannot sign links."""
        if not isinstance(conversio.store, PresigningStore):
            scheme = store_url.partition("://")[0]
            raise InvalidOption(
                f"download_links = store needs a store that signs its own links, such as s3://; the "
                f"{scheme}:// store cannot: set download_links (CONVERSIO_SERVER_DOWNLOAD_LINKS) to server",
                option="download_links",
            )
        return cls(conversio.store, conversio.media_type)

    def url(self, artifact: Artifact, name: str, expires: int) -> str:
        """The store's link to ``artifact``, downloaded as ``name`` until ``expires`` (a unix time)."""
        from conversio_server.routes.common import content_disposition

        return self.store.presigned_url(
            artifact,
            expires_in=max(1, expires - int(time.time())),
            disposition=content_disposition(name),
            media_type=self.media_type(artifact.format),
        )


class SignedLinks:
    """The server's download links: valid for ``ttl`` seconds and never past the file's own expiry,
    signed with its secret, or by the store itself when ``store`` is given (``download_links``)."""

    def __init__(self, secret: bytes, ttl: float, store: StoreLinks | None = None) -> None:
        self.secret = secret
        self.ttl = ttl
        self.store = store

    @classmethod
    def of(cls, settings: ServerSettings, database: sa.Engine, conversio: Conversio) -> SignedLinks:
        """With the configured secret, else the one beside a SQLite database or in a shared one,
        ``database`` (made on first use); with the links of ``conversio``'s store if the settings ask
        for them."""
        if settings.signing_secret:
            secret = settings.signing_secret
        elif database.dialect.name == "sqlite":
            secret = load_or_create_secret(secret_path_for(settings.database_url, settings.data_dir))
        else:
            secret = shared_secret(database)
        store = StoreLinks.of(conversio, settings.store_url) if settings.download_links == "store" else None
        return cls(secret, settings.signed_url_ttl, store)

    def _expires(self, artifact: Artifact) -> int:
        expires = int(time.time() + self.ttl)
        return expires if artifact.expires is None else min(expires, int(artifact.expires))

    def query(self, artifact: Artifact) -> str:
        """``expires=…&signature=…`` for a link to ``artifact`` on this server."""
        expires = self._expires(artifact)
        return urlencode({"expires": expires, "signature": sign(artifact.id, expires, self.secret)})

    def url(self, artifact: Artifact, server_url: str, name: str | None = None) -> str:
        """A link that downloads ``artifact`` without a key: ``server_url`` (this server's) signed, or
        the store's own link, the file named ``name`` (by default its own name)."""
        if self.store is not None:
            return self.store.url(artifact, name or artifact.name, self._expires(artifact))
        return f"{server_url}?{self.query(artifact)}"

    def content_url(self, artifact: Artifact, base_url: str) -> str:
        """The link to ``artifact``'s content: on the server at ``base_url`` (no key needed), or the
        store's."""
        return self.url(artifact, f"{base_url}/v1/files/{artifact.id}/content")

    def check(self, file_id: str, expires: int | None, signature: str | None) -> None:
        """``UNAUTHORIZED`` unless the link is signed for ``file_id`` and not expired."""
        if expires is None or signature is None:
            raise ApiError("UNAUTHORIZED", "a signed link needs both 'expires' and 'signature'")
        if not verify(file_id, expires, signature, self.secret):
            raise ApiError("UNAUTHORIZED", "the link's signature is invalid or the link has expired")
