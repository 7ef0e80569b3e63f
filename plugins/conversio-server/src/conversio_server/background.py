"""What ``conversio serve`` runs beside the HTTP service: job worker processes and webhook dispatchers.

Both are optional (``job_workers=0``, ``webhook_dispatchers=0``) for deployments that run
``conversio worker`` processes elsewhere. The gauge of this node's job workers and the webhook metrics
join the app's ``/metrics``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import Gauge

from conversio.webhooks import Secrets, new_webhook_secret
from conversio_server.outbound import OutboundClient
from conversio_server.outbox import Dispatcher, RetrySchedule, register_webhook_metrics, webhook_policy
from conversio_server.settings import ServerSettings
from conversio_server.wakeup import WakeListener

if TYPE_CHECKING:
    from conversio_server.service import Server
    from conversio_server.supervisor import JobWorkerSupervisor


def dev_webhook_secret_path(settings: ServerSettings) -> Path:
    return settings.data_dir / "webhook-secret"


def dev_webhook_secret(settings: ServerSettings) -> str:
    """The secret signing webhooks when there are no API keys (development mode), kept in the data dir."""
    path = dev_webhook_secret_path(settings)
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = ""
    if text:
        return text
    path.parent.mkdir(parents=True, exist_ok=True)
    text = new_webhook_secret()
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)
    return path.read_text().strip()


class Background:
    """The job worker pool and the webhook dispatcher of one app."""

    def __init__(self, settings: ServerSettings, server: Server) -> None:
        self.settings = settings
        self.server = server
        self.pool: JobWorkerSupervisor | None = None
        self.dispatcher: Dispatcher | None = None
        self.wake_listener: WakeListener | None = None
        self._client: OutboundClient | None = None
        outbox = server.jobstore.outbox
        registry = server.metrics.registry
        self.webhook_metrics = register_webhook_metrics(registry, outbox)
        alive = Gauge("conversio_job_workers_alive", "Job workers ready to run jobs.", registry=registry)
        alive.set_function(lambda: float(self.pool.alive()) if self.pool is not None else 0.0)

    def secret_for(self, key_id: str | None) -> Secrets | None:
        keys = self.server.guard.store
        if keys is None:
            return dev_webhook_secret(self.settings)
        return None if key_id is None else keys.signing_secrets(key_id)

    def start(self) -> None:
        if self.settings.dev:
            dev_webhook_secret(self.settings)
        count = self.settings.job_worker_count
        if count:
            from conversio_server.supervisor import JobWorkerSupervisor

            self.pool = JobWorkerSupervisor(self.settings, count, self.server.jobstore)
            self.pool.start()
        if self.settings.webhook_dispatchers:
            self._client = OutboundClient(webhook_policy(self.settings.outbound))
            schedule = (
                RetrySchedule.parse(self.settings.webhook_retry) if self.settings.webhook_retry else None
            )
            self.dispatcher = Dispatcher(
                self.server.jobstore.outbox,
                self._client,
                self.secret_for,
                schedule=schedule,
                concurrency=self.settings.webhook_dispatchers,
                metrics=self.webhook_metrics,
            )
            self.dispatcher.start()
            self.wake_listener = WakeListener(
                self.settings.webhook_wake_path, self.server.jobstore.outbox.notify
            )
            self.wake_listener.start()

    def stop(self) -> None:
        if self.wake_listener is not None:
            self.wake_listener.stop()
        if self.dispatcher is not None:
            self.dispatcher.stop(timeout=10.0)
        if self.pool is not None:
            self.pool.stop()
        if self._client is not None:
            self._client.close()
