"""``conversio serve``: run the HTTP service with uvicorn; ``conversio worker``: run a job worker.

Only click is imported here; FastAPI, uvicorn and the application load when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from conversio.cli import handles_errors

if TYPE_CHECKING:
    import socket

    import uvicorn
    from fastapi import FastAPI

    from conversio_server.settings import ServerSettings


_drain_timeout = click.option(
    "--drain-timeout",
    "job_drain_timeout",
    type=float,
    help="Seconds job workers let running jobs finish on SIGTERM before handing them back (default 60).",
)


@click.command()
@click.option("--host", help="Address to bind (default 127.0.0.1; CONVERSIO_SERVER_HOST).")
@click.option("--port", type=int, help="Port to listen on (default 8000).")
@click.option(
    "--dev", is_flag=True, default=None, help="Development mode: no API keys, binds 127.0.0.1 only."
)
@click.option("--workers", type=int, help="Conversion worker processes (default: one per core).")
@click.option("--store", "store_url", help="Store URL (default: a durable store in the data folder).")
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Store and database folder."
)
@click.option("--retention", type=float, help="Seconds stored files and results are kept (default 3 h).")
@click.option("--sync-timeout", type=float, help="Seconds before a conversion answers 202 with a job.")
@click.option("--max-upload", "max_upload_bytes", type=int, help="Largest upload in bytes.")
@click.option("--public-url", help="Base URL of the links the server hands out.")
@click.option("--url-allow", multiple=True, help="Network or host input URLs may reach though private.")
@click.option("--read-timeout", type=float, help="Seconds allowed for headers, or a body pause.")
@click.option("--database", "database_url", help="Database URL (default: SQLite in the data folder).")
@click.option(
    "--job-workers", type=int, help="Job worker processes (0: an API-only node; default: half the cores)."
)
@_drain_timeout
@click.option("--webhook-dispatchers", type=int, help="Webhook delivery threads (0: none; default 4).")
@click.option("--log-level", default="info", show_default=True, help="uvicorn log level.")
@handles_errors
def serve(log_level: str, url_allow: tuple[str, ...], as_json: bool, **flags: object) -> None:
    """Run the conversion API (OpenAPI at /openapi.json, interactive docs at /docs).

    SIGTERM or Ctrl-C: stop taking requests, finish those in flight and drain the job workers (they
    claim nothing more and finish their running jobs for up to --drain-timeout seconds, then hand the
    rest back to the queue); a second signal hands the jobs back at once."""
    from conversio_server.app import create_app
    from conversio_server.serving import check_setup, uvicorn_config
    from conversio_server.settings import ServerSettings
    from conversio_server.worker import make_conversio

    settings = ServerSettings.load(None, **flags, url_allow=url_allow or None)
    if settings.dev:
        click.secho("development mode: no API keys, listening on 127.0.0.1 only", fg="yellow", err=True)
    with make_conversio(settings) as conversio:  # an unknown store is refused here
        check_setup(settings, conversio)
        app = create_app(settings, conversio)
        config = uvicorn_config(app, settings, log_level=log_level, timeout_graceful_shutdown=10)
        _draining_server(config, app, settings).run()


def _draining_server(config: uvicorn.Config, app: FastAPI, settings: ServerSettings) -> uvicorn.Server:
    """uvicorn's server, which says where the web page is once it listens, and whose first SIGTERM or
    SIGINT also drains ``app``'s job workers (while uvicorn finishes the requests in flight) and whose
    second hands their jobs back at once."""
    import uvicorn

    from conversio_server.serving import page_url

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                bound = [s.getsockname()[1] for server in self.servers for s in server.sockets]
                url = page_url(settings, bound[0] if bound else config.port)
                click.secho(f"conversio: the web page is at {url}", err=True)

        def handle_exit(self, sig: int, frame: Any) -> None:
            background = getattr(app.state, "background", None)
            pool = None if background is None else background.pool
            if pool is not None:
                if self.should_exit:
                    pool.hand_back()
                else:
                    pool.drain()
            super().handle_exit(sig, frame)

    return Server(config)


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the worker's local sockets (and of the default store and database).",
)
@click.option("--store", "store_url", help="Store URL (the same as the server's).")
@click.option("--database", "database_url", help="Database URL (the same as the server's).")
@click.option("--dev", is_flag=True, default=None, help="Development mode (as the server).")
@click.option("--public-url", help="Base URL of the result links in webhooks (the server's).")
@click.option("--concurrency", "job_concurrency", type=int, help="Jobs run at once (default 4).")
@_drain_timeout
@click.option("--hostname", help="The host's name in /metrics (default: this host's name).")
@handles_errors
def worker(as_json: bool, hostname: str | None, **flags: object) -> None:
    """Run a job worker: claim queued jobs from the server's database and run them until stopped.

    It needs only the database and the store: inputs are read from the store into scratch space and
    results written back. SIGTERM or Ctrl-C drains it: it claims nothing more and lets its running jobs
    finish for up to --drain-timeout seconds, then hands the rest back to the queue and exits 0; a
    second signal hands them back at once."""
    from conversio_server.database import parse_url
    from conversio_server.settings import ServerSettings
    from conversio_server.worker import Worker, run_worker

    settings = ServerSettings.load(None, **flags)
    job_worker = Worker(settings, host=hostname)
    database = parse_url(settings.database_url).render_as_string(hide_password=True)
    click.secho(
        f"conversio worker {job_worker.name} on {job_worker.member.host}: jobs from {database}", err=True
    )
    run_worker(job_worker)
