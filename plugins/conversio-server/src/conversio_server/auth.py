"""Who is calling: API keys, scopes, and the limits of the caller's tier.

The application builds one :class:`Guard` and puts it at ``app.state.guard``; routes
declare what they need with ``principal: Principal = Depends(require("convert"))``.
The dependency answers 401 UNAUTHORIZED (no, unknown or revoked key), 403 FORBIDDEN
(the key lacks the scope) or 429 RATE_LIMITED (with ``Retry-After``), and otherwise
counts the request against the key's requests per minute.

Rate-limit headers: the dependency sets ``X-RateLimit-Limit/-Remaining/-Reset`` on the
``Response`` FastAPI injects (kept when the route returns a model or dict), and also
leaves them in ``request.state.rate_limit_headers`` so that a middleware can add them to
responses the route builds itself (files, streams) — see :func:`rate_limit_headers`.
Errors carry them in ``ApiError.headers``.

In development mode (``AuthConfig.dev``) every request is the local principal, with
every scope and no limits; no key database is opened.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from conversio_server.errors import ApiError
from conversio_server.keys import SCOPES, KeyRecord, KeyStore
from conversio_server.limiting import ConcurrencyGate, QuotaCounter, RateDecision, RateLimiter
from conversio_server.tiers import DEFAULT_TIERS, UNLIMITED, Tier, load_tiers

#: The query parameters ConvertAPI clients send their secret in.
CONVERTAPI_QUERY_NAMES = ("Secret", "Token")
_STATE_PRINCIPAL = "conversio_principal"
_STATE_HEADERS = "rate_limit_headers"


def _frozen_tiers(value: Mapping[str, Tier]) -> Mapping[str, Tier]:
    return MappingProxyType(dict(value))


@attrs.frozen(kw_only=True)
class AuthConfig:
    """How callers are authenticated: ``dev`` (no keys), the tiers by name, the key database."""

    database_url: str
    dev: bool = False
    tiers: Mapping[str, Tier] = attrs.field(default=DEFAULT_TIERS, converter=_frozen_tiers)


@attrs.frozen
class Principal:
    """An authenticated caller: its key, scopes and tier."""

    key_id: str
    name: str
    scopes: frozenset[str]
    tier: Tier

    @property
    def max_file_bytes(self) -> int | None:
        """The largest file the tier accepts (``None``: no tier limit)."""
        return self.tier.max_file_bytes

    def upload_limit(self, server_limit: int) -> int:
        """Where an upload must stop streaming: the server's limit or the tier's, the smaller."""
        tier_limit = self.tier.max_file_bytes
        return server_limit if tier_limit is None else min(server_limit, tier_limit)


LOCAL_PRINCIPAL = Principal(key_id="local", name="local development", scopes=SCOPES, tier=UNLIMITED)


def bearer_key(
    connection: HTTPConnection, query_names: Iterable[str] = (), basic: bool = False
) -> str | None:
    """The API key of a request: ``Authorization: Bearer <key>``, with ``basic`` also the password of
    ``Authorization: Basic`` (any user name: how Gotenberg's clients send credentials), else one of
    the ``query_names`` query parameters (matched without regard to case, e.g. ConvertAPI's ``?Secret=``)."""
    header = connection.headers.get("authorization")
    if header:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        if basic and scheme.lower() == "basic":
            return _basic_password(value.strip())
    wanted = {name.lower() for name in query_names}
    if wanted:
        for name, value in connection.query_params.multi_items():
            if name.lower() in wanted and value.strip():
                return value.strip()
    return None


def _basic_password(credentials: str) -> str | None:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    password = decoded.partition(":")[2]
    return password or None


class Guard:
    """Keys, limits and quotas of one application: built once, kept at ``app.state.guard``."""

    def __init__(
        self,
        config: AuthConfig,
        *,
        store: KeyStore | None = None,
        limiter: RateLimiter | None = None,
        gate: ConcurrencyGate | None = None,
    ) -> None:
        self.config = config
        self.store = store if store is not None or config.dev else KeyStore(config.database_url)
        self.limiter = limiter or RateLimiter()
        self.gate = gate or ConcurrencyGate()
        self.quota = None if self.store is None else QuotaCounter(self.store)

    @classmethod
    def from_settings(cls, settings: Any, tiers: Mapping[str, Tier] | None = None) -> Guard:
        """A guard for the server settings (their ``dev`` and ``database_url``), with ``tiers``
        or else those of :func:`~conversio_server.tiers.load_tiers` (``$CONVERSIO_SERVER_TIERS``)."""

        config = AuthConfig(
            database_url=settings.database_url,
            dev=bool(settings.dev),
            tiers=load_tiers() if tiers is None else tiers,
        )
        return cls(config)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    # who

    def principal_for(self, record: KeyRecord) -> Principal:
        tier = self.config.tiers.get(record.tier)
        if tier is None:
            raise ApiError(
                "FORBIDDEN",
                f"the key's tier {record.tier!r} is not configured on this server",
                details={"tier": record.tier, "tiers": sorted(self.config.tiers)},
            )
        return Principal(key_id=record.id, name=record.name, scopes=record.scopes, tier=tier)

    def authenticate(self, key: str | None) -> Principal:
        """The principal of ``key``; UNAUTHORIZED when it is missing, unknown or revoked."""
        if self.config.dev:
            return LOCAL_PRINCIPAL
        if not key:
            raise ApiError(
                "UNAUTHORIZED",
                "an API key is required: send it as 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        assert self.store is not None
        record = self.store.authenticate(key)
        if record is None:
            raise ApiError(
                "UNAUTHORIZED",
                "the API key is not valid (unknown or revoked)",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return self.principal_for(record)

    def check_scope(self, principal: Principal, scope: str, headers: Mapping[str, str] | None = None) -> None:
        if scope not in principal.scopes:
            raise ApiError(
                "FORBIDDEN",
                f"the API key lacks the {scope!r} scope",
                details={"requiredScope": scope, "scopes": sorted(principal.scopes)},
                headers=headers,
            )

    # limits

    def count_request(self, principal: Principal) -> RateDecision:
        """Count one request against the tier's requests per minute (the verdict is not raised)."""
        return self.limiter.hit(principal.key_id, principal.tier.requests_per_minute)

    @contextlib.asynccontextmanager
    async def job_slot(self, principal: Principal) -> AsyncIterator[None]:
        """Hold one of the key's concurrent-job slots for the block; 429 RATE_LIMITED when none is free."""
        async with self.gate.slot(principal.key_id, principal.tier.concurrent_jobs):
            yield

    def acquire_job(self, principal: Principal) -> None:
        """Take a concurrent-job slot for work that outlives the request; pair with :meth:`release_job`."""
        self.gate.acquire(principal.key_id, principal.tier.concurrent_jobs)

    def release_job(self, principal: Principal) -> None:
        self.gate.release(principal.key_id)

    def check_quota(self, principal: Principal, count: int = 1) -> None:
        """QUOTA_EXCEEDED if ``count`` more conversions would not fit this month (counts nothing)."""
        if self.quota is not None and principal is not LOCAL_PRINCIPAL:
            self.quota.check(principal.key_id, principal.tier.monthly_conversions, count)

    def consume_conversions(self, principal: Principal, count: int = 1) -> None:
        """Count ``count`` conversions against the monthly quota, or raise QUOTA_EXCEEDED (403)."""
        if self.quota is not None and principal is not LOCAL_PRINCIPAL:
            self.quota.consume(principal.key_id, principal.tier.monthly_conversions, count)

    def refund_conversions(self, principal: Principal, count: int = 1) -> None:
        if self.quota is not None and principal is not LOCAL_PRINCIPAL:
            self.quota.refund(principal.key_id, count)

    def used_conversions(self, principal: Principal) -> int:
        return 0 if self.quota is None or principal is LOCAL_PRINCIPAL else self.quota.used(principal.key_id)

    # a request

    def admit(
        self, connection: HTTPConnection, scope: str, query_names: Iterable[str] = (), basic: bool = False
    ) -> Principal:
        """Authenticate ``connection``, check ``scope`` and count it once against the rate limit.

        The principal and the rate-limit headers are kept on ``connection.state``: a second
        dependency of the same request checks its scope without counting the request again.
        """
        state = connection.state
        principal: Principal | None = getattr(state, _STATE_PRINCIPAL, None)
        if principal is None:
            principal = self.authenticate(bearer_key(connection, query_names, basic))
            decision = self.count_request(principal)
            headers = decision.headers()
            setattr(state, _STATE_HEADERS, headers)
            self.check_scope(principal, scope, headers)
            decision.raise_if_refused()
            setattr(state, _STATE_PRINCIPAL, principal)
        else:
            self.check_scope(principal, scope, rate_limit_headers(connection))
        return principal


def guard_of(connection: HTTPConnection) -> Guard:
    guard = getattr(connection.app.state, "guard", None)
    if not isinstance(guard, Guard):
        raise ApiError("INTERNAL_ERROR", "the server has no access guard configured")
    return guard


def rate_limit_headers(connection: HTTPConnection) -> dict[str, str]:
    """The ``X-RateLimit-*`` headers computed for this request (empty when none were)."""
    return dict(getattr(connection.state, _STATE_HEADERS, None) or {})


def require(scope: str, *, query_names: Iterable[str] = ()) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting callers whose key has ``scope``: ``Depends(require("convert"))``.

    ``query_names`` also accepts the key from those query parameters (ConvertAPI's
    ``CONVERTAPI_QUERY_NAMES``). The same arguments give the same dependency object, so
    FastAPI runs it once per request.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {sorted(SCOPES)}")
    return _dependency(scope, tuple(query_names))


@functools.cache
def _dependency(scope: str, query_names: tuple[str, ...]) -> Callable[..., Awaitable[Principal]]:
    async def dependency(request: Request, response: Response) -> Principal:
        principal = guard_of(request).admit(request, scope, query_names)
        response.headers.update(rate_limit_headers(request))
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency
