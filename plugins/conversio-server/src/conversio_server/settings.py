"""The server's settings: defaults, then ``CONVERSIO_SERVER_*`` variables, then ``conversio serve`` flags."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from conversio.errors import InvalidOption
from conversio.outbound import AllowList
from conversio_server.auth import AuthConfig
from conversio_server.outbound import OutboundPolicy
from conversio_server.tiers import load_tiers

ENV_PREFIX = "CONVERSIO_SERVER_"
MB = 1000 * 1000
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def data_dir() -> Path:
    """Where the server keeps its store and database: ``$XDG_DATA_HOME/conversio`` by default."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "conversio"


def _default_store(settings: ServerSettings) -> str:
    root = (settings.data_dir / "server-store").resolve()
    return f"{root.as_uri()}?durable=1&ttl={settings.retention:g}"


def _default_database(settings: ServerSettings) -> str:
    return f"sqlite:///{(settings.data_dir / 'server.sqlite3').resolve()}"


def _default_auth(settings: ServerSettings) -> AuthConfig:
    return AuthConfig(database_url=settings.database_url, dev=settings.dev, tiers=load_tiers())


def _default_outbound(settings: ServerSettings) -> OutboundPolicy:
    return OutboundPolicy(allow=settings.url_allow, max_bytes=settings.max_upload_bytes)


def _as_secret(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not value > 0:
        raise InvalidOption(f"{attribute.name} must be positive, not {value!r}", option=attribute.name)


@attrs.frozen(kw_only=True)
class ServerSettings:
    """Everything ``conversio serve`` can be told. Times are seconds, sizes bytes.

    ``dev`` turns API keys off and binds 127.0.0.1 only. ``workers`` is the number of
    conversion worker processes (``None``: one per core), each converting one file at a time; four
    synchronous conversions per worker are in flight and ``max_queued`` more wait for a place, beyond
    which the server answers 503. A request answers by ``sync_timeout`` (202 with a job) all the same.
    ``url_allow`` lists networks or host names that input URLs may reach although they
    are private (loopback, LAN); ``public_url`` is the base of the links the server hands
    out (default: derived from each request).
    """

    host: str = "127.0.0.1"
    port: int = attrs.field(default=8000, validator=attrs.validators.and_(attrs.validators.ge(0)))
    dev: bool = False
    data_dir: Path = attrs.field(factory=data_dir, converter=Path)
    retention: float = attrs.field(default=3 * 3600.0, validator=_positive)
    store_url: str = attrs.field(default=attrs.Factory(_default_store, takes_self=True))
    database_url: str = attrs.field(default=attrs.Factory(_default_database, takes_self=True))
    signed_url_ttl: float = attrs.field(default=3600.0, validator=_positive)
    #: Who signs the download links of results and stored files: ``server`` (links to this server,
    #: signed with its secret) or ``store`` (links presigned by the object store itself, such as S3,
    #: so downloads bypass the API nodes; the store must be able to presign).
    download_links: str = attrs.field(default="server", validator=attrs.validators.in_(("server", "store")))
    sync_timeout: float = attrs.field(default=30.0, validator=_positive)
    max_upload_bytes: int = attrs.field(default=500 * MB, validator=_positive)
    max_files: int = attrs.field(default=100, validator=_positive)
    workers: int | None = attrs.field(default=None, validator=_positive)
    max_queued: int = attrs.field(default=64, validator=attrs.validators.ge(0))
    url_allow: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    public_url: str | None = None
    cache: bool = True
    sweep_interval: float = attrs.field(default=60.0, validator=_positive)
    #: The outbound client's policy for input URLs (default: ``url_allow``, and the upload limit).
    outbound: OutboundPolicy = attrs.field(default=attrs.Factory(_default_outbound, takes_self=True))
    #: API keys and tiers (default: keys in ``database_url``, none in dev mode; tiers from
    #: ``CONVERSIO_SERVER_TIERS`` or the guide's table).
    auth: AuthConfig = attrs.field(default=attrs.Factory(_default_auth, takes_self=True))
    signing_secret: bytes | None = attrs.field(default=None, converter=_as_secret, repr=False)
    #: Job worker processes ``conversio serve`` starts (``None``: half the cores, at least one; 0: none,
    #: for deployments that run ``conversio worker`` separately).
    job_workers: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(0))
    )
    #: A worker's lease on its job (seconds), renewed every ``job_heartbeat``; an expired lease frees the job.
    job_lease: float = attrs.field(default=30.0, validator=_positive)
    job_heartbeat: float = attrs.field(default=5.0, validator=_positive)
    #: How often an idle worker asks the database for a job: it is woken at once when this host's
    #: server queues one, so the poll finds only expired leases and jobs other hosts queued.
    job_poll_interval: float = attrs.field(default=2.0, validator=_positive)
    job_progress_interval: float = attrs.field(default=0.5, validator=_positive)
    #: On SIGTERM a worker claims nothing more and lets its running jobs finish for this many seconds,
    #: then hands back those still running to the queue (another worker resumes them).
    job_drain_timeout: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))
    #: Unfinished (queued or running) jobs one key may have (429 beyond), and everybody (503 beyond).
    max_jobs_per_key: int = attrs.field(default=1000, validator=_positive)
    max_queued_jobs: int = attrs.field(default=10_000, validator=_positive)
    #: Webhook dispatcher threads ``conversio serve`` runs (0: none, when dispatchers run elsewhere).
    webhook_dispatchers: int = attrs.field(default=4, validator=attrs.validators.ge(0))
    #: Retry schedule of webhook deliveries: delays in seconds, comma separated (default spans a day).
    webhook_retry: str | None = None
    #: Extra plugin modules (import paths) registered by the server and its workers (tests, local plugins).
    extra_plugins: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    #: A request's headers must arrive within this many seconds, and a body may pause no longer (408 beyond).
    read_timeout: float = attrs.field(default=30.0, validator=_positive)
    #: The slowest a body may arrive on average (bytes a second) once ``read_timeout`` has passed.
    min_body_rate: float = attrs.field(default=1000.0, validator=_positive)
    #: The largest JSON request body (413 beyond), and all JSON bodies being read at once (503 beyond).
    max_json_bytes: int = attrs.field(default=64 * MB, validator=_positive)
    max_json_memory: int = attrs.field(default=256 * MB, validator=_positive)
    #: Jobs one job worker runs at once (a thread and a conversion worker each), so a slow job does
    #: not hold up the queue behind it.
    job_concurrency: int = attrs.field(default=4, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.auth.dev != self.dev:
            raise InvalidOption("the auth configuration and the settings disagree about development mode")
        if self.dev and self.host not in LOOPBACK_HOSTS:
            raise InvalidOption(
                f"development mode (no API keys) binds 127.0.0.1 only, not {self.host!r}", option="host"
            )
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise InvalidOption(
                f"public_url must be an http(s) URL, not {self.public_url!r}", option="public_url"
            )
        AllowList.parse(self.url_allow, option="url_allow")

    @property
    def webhook_wake_path(self) -> Path:
        """The Unix socket on which job workers wake the server's webhook dispatcher."""
        return self.data_dir / "run" / "webhooks.sock"

    @property
    def job_wake_dir(self) -> Path:
        """The folder of the job workers' Unix sockets, on which the server wakes them for new jobs."""
        return self.data_dir / "run" / "workers"

    @property
    def concurrency(self) -> int:
        """How many worker processes convert: ``workers``, else one per core."""
        return self.workers or os.cpu_count() or 1

    @property
    def job_worker_count(self) -> int:
        if self.job_workers is not None:
            return self.job_workers
        return max(1, (os.cpu_count() or 2) // 2)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServerSettings:
        """Defaults, then ``CONVERSIO_SERVER_<FIELD>`` variables, then ``overrides`` (``None`` skipped).

        In development mode the host is 127.0.0.1 unless another loopback name is given.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in attrs.fields(cls):
            if field.name in _COMPOSED:
                continue
            raw = env.get(ENV_PREFIX + field.name.upper())
            if raw is not None and raw.strip():
                values[field.name] = _parse(field.name, raw.strip())
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("dev") and "host" not in overrides and values.get("host") not in LOOPBACK_HOSTS:
            values["host"] = "127.0.0.1"
        return cls(**values)


def _as_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _as_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


#: Settings built from the others (and their own variables, such as ``CONVERSIO_SERVER_TIERS``).
_COMPOSED = frozenset({"auth", "outbound"})

_PARSERS: dict[str, Callable[[str], Any]] = {
    "port": int,
    "dev": _as_bool,
    "cache": _as_bool,
    "retention": float,
    "signed_url_ttl": float,
    "sync_timeout": float,
    "sweep_interval": float,
    "max_upload_bytes": int,
    "max_files": int,
    "workers": int,
    "max_queued": int,
    "url_allow": _as_list,
    "extra_plugins": _as_list,
    "job_workers": int,
    "job_lease": float,
    "job_heartbeat": float,
    "job_poll_interval": float,
    "job_progress_interval": float,
    "job_drain_timeout": float,
    "max_jobs_per_key": int,
    "max_queued_jobs": int,
    "webhook_dispatchers": int,
    "job_concurrency": int,
    "data_dir": Path,
    "read_timeout": float,
    "min_body_rate": float,
    "max_json_bytes": int,
    "max_json_memory": int,
}


def _parse(name: str, raw: str) -> Any:
    try:
        return _PARSERS.get(name, str)(raw)
    except ValueError:
        raise InvalidOption(f"{ENV_PREFIX}{name.upper()}={raw!r} is not valid", option=name) from None
