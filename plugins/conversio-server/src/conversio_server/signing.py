"""Signed download URLs: ``…/content?expires=<unix time>&signature=<hex HMAC-SHA256>``.

The signature covers the file id and the expiry, so a link opens one file until it
expires and cannot be edited into another. The secret is the server's: configured, or a
random one created once and kept next to a SQLite database (:func:`load_or_create_secret`),
or in a shared database itself (:func:`shared_secret`), so that every host of a deployment
signs and checks links alike.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import sqlalchemy as sa

from conversio_server.database import metadata
from conversio_server.errors import ApiError

if TYPE_CHECKING:
    from conversio.stores.base import Artifact
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


class SignedLinks:
    """The server's download links: signed with its secret, valid for ``ttl`` seconds and never past
    the file's own expiry."""

    def __init__(self, secret: bytes, ttl: float) -> None:
        self.secret = secret
        self.ttl = ttl

    @classmethod
    def of(cls, settings: ServerSettings, database: sa.Engine) -> SignedLinks:
        """With the configured secret, else the one beside a SQLite database or in a shared one,
        ``database`` (made on first use)."""
        if settings.signing_secret:
            secret = settings.signing_secret
        elif database.dialect.name == "sqlite":
            secret = load_or_create_secret(secret_path_for(settings.database_url, settings.data_dir))
        else:
            secret = shared_secret(database)
        return cls(secret, settings.signed_url_ttl)

    def query(self, artifact: Artifact) -> str:
        """``expires=…&signature=…`` for a link to ``artifact``."""
        expires = int(time.time() + self.ttl)
        if artifact.expires is not None:
            expires = min(expires, int(artifact.expires))
        return urlencode({"expires": expires, "signature": sign(artifact.id, expires, self.secret)})

    def content_url(self, artifact: Artifact, base_url: str) -> str:
        """The signed link to ``artifact``'s content on the server at ``base_url`` (no key needed)."""
        return f"{base_url}/v1/files/{artifact.id}/content?{self.query(artifact)}"

    def check(self, file_id: str, expires: int | None, signature: str | None) -> None:
        """``UNAUTHORIZED`` unless the link is signed for ``file_id`` and not expired."""
        if expires is None or signature is None:
            raise ApiError("UNAUTHORIZED", "a signed link needs both 'expires' and 'signature'")
        if not verify(file_id, expires, signature, self.secret):
            raise ApiError("UNAUTHORIZED", "the link's signature is invalid or the link has expired")
