"""API keys and monthly usage, in one SQL database (SQLite in WAL mode by default).

A key reads ``cv_<id>_<secret>``: the id finds the row, and only the SHA-256 digest of the
256-bit random secret is stored (a slow hash adds nothing for a secret that long); the
digests are compared in constant time. Each key also gets a webhook signing secret
(``whsec_<base64>``, see :mod:`conversio.webhooks`), kept retrievable because the server
needs it to sign. Usage counters (conversions per key and
calendar month, UTC) live in the same database, so a restart does not reset a quota.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa

from conversio.errors import InvalidOption
from conversio.webhooks import new_webhook_secret
from conversio_server.database import create_engine, is_sqlite, metadata, utc

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


class KeyStore:
    """API keys and usage counters in the database at ``database_url``; tables are created on open."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)
        self.is_sqlite = is_sqlite(self.engine)

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
        return record, f"{KEY_PREFIX}{key_id}_{secret}"

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

    def authenticate(self, plaintext: str) -> KeyRecord | None:
        """The active key ``plaintext`` is, or ``None`` (unknown, malformed, wrong secret, revoked)."""
        key_id, _, secret = plaintext.removeprefix(KEY_PREFIX).partition("_")
        if not plaintext.startswith(KEY_PREFIX) or not key_id or not secret or len(plaintext) > 200:
            return None
        with self.engine.connect() as db:
            row = db.execute(sa.select(api_keys).where(api_keys.c.id == key_id)).first()
        stored = _NO_DIGEST if row is None else str(row.digest)
        matches = hmac.compare_digest(_digest(secret).encode(), stored.encode())
        if row is None or not matches or row.revoked_at is not None:
            return None
        return _record(row)

    def webhook_secret(self, key_id: str) -> str | None:
        """The secret that signs the webhooks sent for this key's jobs."""
        with self.engine.connect() as db:
            value = db.execute(sa.select(api_keys.c.webhook_secret).where(api_keys.c.id == key_id)).scalar()
        return None if value is None else str(value)

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
