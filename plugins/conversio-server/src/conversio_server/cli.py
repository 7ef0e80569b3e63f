"""``conversio serve``: run the HTTP service with uvicorn.

Only click is imported here; FastAPI, uvicorn and the application load when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from conversio.cli import handles_errors


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
@click.option("--log-level", default="info", show_default=True, help="uvicorn log level.")
@handles_errors
def serve(log_level: str, url_allow: tuple[str, ...], as_json: bool, **flags: object) -> None:
    """Run the conversion API (OpenAPI at /openapi.json, interactive docs at /docs)."""
    import uvicorn

    from conversio_server.app import create_app
    from conversio_server.serving import uvicorn_config
    from conversio_server.settings import ServerSettings

    settings = ServerSettings.load(None, **flags, url_allow=url_allow or None)
    if settings.dev:
        click.secho("development mode: no API keys, listening on 127.0.0.1 only", fg="yellow", err=True)
    config = uvicorn_config(create_app(settings), settings, log_level=log_level, timeout_graceful_shutdown=10)
    uvicorn.Server(config).run()


@click.command()
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Store and database folder."
)
@click.option("--store", "store_url", help="Store URL (the same as the server's).")
@click.option("--database", "database_url", help="Database URL (the same as the server's).")
@click.option("--dev", is_flag=True, default=None, help="Development mode (as the server).")
@click.option("--public-url", help="Base URL of the result links in webhooks (the server's).")
@handles_errors
def worker(as_json: bool, **flags: object) -> None:
    """Run a job worker: claim queued jobs from the server's database and run them until stopped."""
    from conversio_server.settings import ServerSettings
    from conversio_server.worker import run_worker

    settings = ServerSettings.load(None, **flags)
    click.secho(f"conversio worker: jobs from {settings.database_url}", err=True)
    run_worker(settings)
