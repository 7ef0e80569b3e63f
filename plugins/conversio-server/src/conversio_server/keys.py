"""API keys and monthly usage, in one SQL database (SQLite in WAL mode by default).

A key reads ``cv_<id>_<secret>``: the id finds the row, and only the SHA-256 digest of the
256-bit random secret is stored (a slow hash adds nothing for a secret that long); the
digests are compared in constant time. Each key also gets a webhook signing secret
(``whsec_<base64>``, see :mod:`conversio.webhooks`), kept retrievable because the server
needs it to sign. Either can be rotated (:meth:`KeyStore.rotate`) with an overlap during which
the replaced one keeps working. Usage counters (conversions per key and
calendar month, UTC) live in the same database, so a restart does not reset a quota.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from conversio.errors import InvalidOption
from conversio.webhooks import new_webhook_secret
from conversio_server.database import create_engine, metadata, utc

KEY_PREFIX = "cv_"
SCOPES = frozenset({"read", "convert", "admin"})

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("scopes", sa.String(200), nullable=False),
    sa.Column("tier", sa.String(64), nullable=False),
    sa.Column("webhook_secret", sa.String(128), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

#: Secrets replaced by a rotation that still work until ``expires_at`` (the overlap window):
#: an API key's digest, or a webhook secret the server still signs with beside the new one.
retired_secrets = sa.Table(
    "retired_key_secrets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key_id", sa.String(32), nullable=False, index=True),
    sa.Column("digest", sa.String(64), nullable=True),
    sa.Column("webhook_secret", sa.String(128), nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

usage = sa.Table(
    "usage",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),  # "2026-11"
    sa.Column("conversions", sa.Integer, nullable=False, default=0),
)


@attrs.frozen
class KeyRecord:
    """What is known about a key, without any secret."""

    id: str
    name: str
    scopes: frozenset[str]
    tier: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@attrs.frozen
class Rotation:
    """What a rotation handed out: the new API key and/or webhook secret (each shown once), and
    until when the replaced ones keep working."""

    record: KeyRecord
    api_key: str | None
    webhook_secret: str | None
    overlap_until: datetime


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


#: Compared against when the id is unknown, so that both paths do the same work.
_NO_DIGEST = _digest(secrets.token_hex(32))


def parse_scopes(scopes: str | Iterable[str]) -> frozenset[str]:
    """``"convert,read"`` (or an iterable) as a set of known scopes; an unknown one is an error."""
    parts = scopes.split(",") if isinstance(scopes, str) else scopes
    result = frozenset(part.strip().lower() for part in parts if part.strip())
    unknown = result - SCOPES
    if unknown:
        raise InvalidOption(f"unknown scopes {sorted(unknown)}; known: {sorted(SCOPES)}", option="scopes")
    if not result:
        raise InvalidOption("a key needs at least one scope", option="scopes")
    return result


def current_period(now: datetime | None = None) -> str:
    """The usage period of ``now``: its calendar month in UTC, ``YYYY-MM``."""
    moment = now or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m")


def _plaintext(key_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}{key_id}_{secret}"


def _record(row: Any) -> KeyRecord:
    created = utc(row.created_at)
    assert created is not None
    return KeyRecord(
        id=row.id,
        name=row.name,
        scopes=frozenset(s for s in row.scopes.split(",") if s),
        tier=row.tier,
        created_at=created,
        revoked_at=utc(row.revoked_at),
    )


def _retired(db: sa.Connection, key_id: str, column: sa.Column[Any]) -> tuple[str, ...]:
    """The values of ``column`` retired from ``key_id`` whose overlap has not ended, newest first."""
    rows = db.execute(
        sa.select(column)
        .where(
            retired_secrets.c.key_id == key_id,
            column.is_not(None),
            retired_secrets.c.expires_at > datetime.now(UTC),
        )
        .order_by(retired_secrets.c.id.desc())
    ).scalars()
    return tuple(str(value) for value in rows)


class KeyStore:
    """API keys and usage counters in the database at ``database_url``; tables are created on open."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> KeyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # keys

    def create(self, name: str, scopes: str | Iterable[str], tier: str) -> tuple[KeyRecord, str]:
        """A new key: its record and the plaintext key, which is not stored and cannot be shown again."""
        name = name.strip()
        if not name:
            raise InvalidOption("a key needs a name", option="name")
        scope_set = parse_scopes(scopes)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        record = KeyRecord(
            id=key_id,
            name=name,
            scopes=scope_set,
            tier=tier,
            created_at=datetime.now(UTC),
        )
        with self.engine.begin() as db:
            db.execute(
                api_keys.insert().values(
                    id=key_id,
                    name=name,
                    digest=_digest(secret),
                    scopes=",".join(sorted(scope_set)),
                    tier=tier,
                    webhook_secret=new_webhook_secret(),
                    created_at=record.created_at,
                )
            )
        return record, _plaintext(key_id, secret)

    def list(self) -> list[KeyRecord]:
        """Every key, revoked ones included, oldest first."""
        with self.engine.connect() as db:
            rows = db.execute(sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)).all()
        return [_record(row) for row in rows]

    def get(self, key_id: str) -> KeyRecord | None:
        with self.engine.connect() as db:
            row = db.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
        return None if row is None else _record(row)

    def revoke(self, key_id: str) -> bool:
        """Revoke a key for good; ``False`` when there is no such active key."""
        with self.engine.begin() as db:
            result = db.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
        return bool(result.rowcount)

    def rotate(
        self, key_id: str, *, api_key: bool = True, webhook_secret: bool = True, overlap: float = 0.0
    ) -> Rotation:
        """Give the active key ``key_id`` a new API key secret and/or webhook secret. For ``overlap``
        seconds the replaced ones keep working: the old API key authenticates, and webhooks are
        signed with both webhook secrets (so receivers can switch at their pace, without downtime)."""
        if not (api_key or webhook_secret):
            raise InvalidOption("rotate the API key, the webhook secret or both", option="secret")
        if overlap < 0:
            raise InvalidOption(f"the overlap cannot be negative, not {overlap:g} s", option="overlap")
        now = datetime.now(UTC)
        until = now + timedelta(seconds=overlap)
        secret = secrets.token_urlsafe(32) if api_key else None
        signing = new_webhook_secret() if webhook_secret else None
        with self.engine.begin() as db:
            row = db.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
            if row is None or row.revoked_at is not None:
                why = "does not exist" if row is None else "is revoked"
                raise InvalidOption(f"the key {key_id} {why}", option="key_id")
            db.execute(retired_secrets.delete().where(retired_secrets.c.expires_at <= now))
            if overlap > 0:
                db.execute(
                    retired_secrets.insert().values(
                        key_id=key_id,
                        digest=row.digest if api_key else None,
                        webhook_secret=row.webhook_secret if webhook_secret else None,
                        expires_at=until,
                    )
                )
            changes: dict[str, str] = {}
            if secret is not None:
                changes["digest"] = _digest(secret)
            if signing is not None:
                changes["webhook_secret"] = signing
            db.execute(api_keys.update().where(api_keys.c.id == key_id).values(**changes))
        return Rotation(
            record=_record(row),
            api_key=None if secret is None else _plaintext(key_id, secret),
            webhook_secret=signing,
            overlap_until=until,
        )

    def authenticate(self, plaintext: str) -> KeyRecord | None:
        """The active key ``plaintext`` is, or ``None`` (unknown, malformed, wrong secret, revoked).
        A secret replaced by a rotation is accepted until its overlap ends."""
        key_id, _, secret = plaintext.removeprefix(KEY_PREFIX).partition("_")
        if not plaintext.startswith(KEY_PREFIX) or not key_id or not secret or len(plaintext) > 200:
            return None
        offered = _digest(secret).encode()
        with self.engine.connect() as db:
            row = db.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
            stored = _NO_DIGEST if row is None else str(row.digest)
            matches = hmac.compare_digest(offered, stored.encode())
            if row is not None and not matches:
                for old in _retired(db, key_id, retired_secrets.c.digest):
                    matches |= hmac.compare_digest(offered, old.encode())
        if row is None or not matches or row.revoked_at is not None:
            return None
        return _record(row)

    def webhook_secret(self, key_id: str) -> str | None:
        """The current secret of this key's webhooks (the one its receivers should verify with)."""
        with self.engine.connect() as db:
            value = db.execute(sa.select(api_keys.c.webhook_secret).where(api_keys.c.id == key_id)).scalar()
        return None if value is None else str(value)

    def signing_secrets(self, key_id: str) -> tuple[str, ...] | None:
        """The secrets that sign this key's webhooks: the current one first, then those a rotation
        replaced whose overlap is not over (each adds a ``v1,`` signature)."""
        with self.engine.connect() as db:
            current = db.execute(sa.select(api_keys.c.webhook_secret).where(api_keys.c.id == key_id)).scalar()
            if current is None:
                return None
            return (str(current), *_retired(db, key_id, retired_secrets.c.webhook_secret))

    # usage

    def usage(self, key_id: str, period: str | None = None) -> int:
        """Conversions counted for ``key_id`` in ``period`` (default: this month)."""
        period = period or current_period()
        with self.engine.connect() as db:
            value = db.execute(
                sa.select(usage.c.conversions).where(usage.c.key_id == key_id, usage.c.period == period)
            ).scalar()
        return int(value or 0)

    def consume(
        self, key_id: str, limit: int | None, count: int = 1, period: str | None = None
    ) -> int | None:
        """Count ``count`` conversions if they fit under ``limit``; the new total, or ``None`` if over.

        Atomic: concurrent callers can never push the total beyond ``limit``.
        """
        period = period or current_period()
        with self.engine.begin() as db:
            exists = db.execute(
                sa.select(usage.c.conversions).where(usage.c.key_id == key_id, usage.c.period == period)
            ).first()
            if exists is None:
                if limit is not None and count > limit:
                    return None
                try:
                    with db.begin_nested():
                        db.execute(usage.insert().values(key_id=key_id, period=period, conversions=count))
                    return count
                except sa.exc.IntegrityError:
                    pass  # created meanwhile: fall through to the conditional update
            condition = [usage.c.key_id == key_id, usage.c.period == period]
            if limit is not None:
                condition.append(usage.c.conversions + count <= limit)
            updated = db.execute(
                usage.update().where(*condition).values(conversions=usage.c.conversions + count)
            )
            if not updated.rowcount:
                return None
            total = db.execute(
                sa.select(usage.c.conversions).where(usage.c.key_id == key_id, usage.c.period == period)
            ).scalar()
        return int(total or 0)

    def refund(self, key_id: str, count: int = 1, period: str | None = None) -> None:
        """Give back conversions counted for work that never ran (never below zero)."""
        period = period or current_period()
        with self.engine.begin() as db:
            db.execute(
                usage.update()
                .where(usage.c.key_id == key_id, usage.c.period == period)
                .values(
                    conversions=sa.case((usage.c.conversions > count, usage.c.conversions - count), else_=0)
                )
            )
