"""``conversio keys create | list | rotate | revoke``: manage the server's API keys.

The database is the server's (``--database``, else the one in ``--data-dir``, else
``$CONVERSIO_SERVER_DATABASE_URL``, else the default data folder's); SQLAlchemy loads only when a
command runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from conversio.cli import handles_errors
from conversio.errors import InvalidOption

Command = TypeVar("Command", bound=Callable[..., Any])

#: ``--overlap`` values: seconds, or a number with s, m, h or d.
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _database_options(command: Command) -> Command:
    """``--data-dir`` (as ``conversio serve`` takes it) and ``--database``, which wins."""
    command = click.option(
        "--database", help="The server's database URL (default: the one in its data folder)."
    )(command)
    return click.option(
        "--data-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="The server's store and database folder (as `conversio serve --data-dir`).",
    )(command)


def _database_url(database: str | None, data_dir: Path | None) -> str:
    if database:
        return database
    from conversio_server.settings import ServerSettings

    return ServerSettings.load(data_dir=data_dir).database_url


def parse_duration(text: str) -> float:
    """``"90"``, ``"90s"``, ``"30m"``, ``"24h"``, ``"7d"`` as seconds."""
    match = _DURATION.match(text.lower())
    if match is None:
        raise InvalidOption(f"{text!r} is not a duration such as 90s, 30m, 24h or 7d", option="overlap")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@click.group()
def keys() -> None:
    """Create, list, rotate and revoke the API keys of `conversio serve`."""


@keys.command()
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option(
    "--scopes", default="convert,read", show_default=True, help="Comma-separated: read, convert, admin."
)
@click.option("--tier", default="free", show_default=True, help="free, starter, professional, enterprise, …")
@_database_options
@handles_errors
def create(
    name: str, scopes: str, tier: str, database: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """Create a key; print it and its webhook signing secret (once)."""
    from conversio_server.keys import KeyStore
    from conversio_server.tiers import load_tiers

    tiers = load_tiers()
    if tier not in tiers:
        raise InvalidOption(f"unknown tier {tier!r}; configured: {', '.join(tiers)}", option="tier")
    with KeyStore(_database_url(database, data_dir)) as store:
        record, plaintext = store.create(name, scopes, tier)
        signing = store.webhook_secret(record.id)
    if as_json:
        click.echo(json.dumps({**_describe(record), "key": plaintext, "webhookSecret": signing}))
        return
    click.echo(
        f"created key {record.id} ({record.name}; scopes {','.join(sorted(record.scopes))}; tier {tier})"
    )
    click.echo(plaintext)
    click.echo(signing)
    click.secho(
        "Store them now: the API key (cv_…) and the secret that signs its webhooks (whsec_…) "
        "will not be shown again (`conversio keys rotate` replaces them).",
        fg="yellow",
        err=True,
    )


@keys.command()
@click.argument("key_id")
@click.option(
    "--secret",
    "which",
    type=click.Choice(["both", "api-key", "webhook"]),
    default="both",
    show_default=True,
    help="Replace the API key, the webhook signing secret or both.",
)
@click.option(
    "--overlap",
    default="24h",
    show_default=True,
    help="How long the replaced secrets keep working: 90s, 30m, 24h, 7d; 0 ends them at once.",
)
@_database_options
@handles_errors
def rotate(
    key_id: str, which: str, overlap: str, database: str | None, data_dir: Path | None, as_json: bool
) -> None:
    """Give KEY_ID a new API key and/or webhook secret; print them (once).

    Until the overlap ends, the old API key still authenticates and webhooks carry a signature by the
    old and by the new secret, so clients and receivers switch without downtime.
    """
    from conversio_server.keys import KeyStore

    seconds = parse_duration(overlap)
    with KeyStore(_database_url(database, data_dir)) as store:
        rotation = store.rotate(
            key_id,
            api_key=which in ("both", "api-key"),
            webhook_secret=which in ("both", "webhook"),
            overlap=seconds,
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    **_describe(rotation.record),
                    "key": rotation.api_key,
                    "webhookSecret": rotation.webhook_secret,
                    "overlapUntil": rotation.overlap_until.isoformat(),
                }
            )
        )
        return
    replaced = " and ".join(
        what
        for what, new in (("API key", rotation.api_key), ("webhook secret", rotation.webhook_secret))
        if new
    )
    if seconds > 0:
        until = f"keep working until {rotation.overlap_until:%Y-%m-%d %H:%M:%S} UTC"
    else:
        until = "stopped working now"
    click.echo(f"rotated key {key_id}: the old {replaced} {until}")
    for new in (rotation.api_key, rotation.webhook_secret):
        if new:
            click.echo(new)
    click.secho("Store them now: they will not be shown again.", fg="yellow", err=True)


@keys.command(name="list")
@_database_options
@handles_errors
def list_keys(database: str | None, data_dir: Path | None, as_json: bool) -> None:
    """List the keys (ids, names, scopes, tiers; never a secret)."""
    from conversio_server.keys import KeyStore

    with KeyStore(_database_url(database, data_dir)) as store:
        records = store.list()
    if as_json:
        click.echo(json.dumps([_describe(r) for r in records]))
        return
    if not records:
        click.echo("no keys")
        return
    for r in records:
        state = "active" if r.active else f"revoked {r.revoked_at:%Y-%m-%d %H:%M}"
        scopes = ",".join(sorted(r.scopes))
        created = f"{r.created_at:%Y-%m-%d %H:%M}"
        click.echo(f"{r.id}  {r.name}  scopes={scopes}  tier={r.tier}  created {created}  {state}")


@keys.command()
@click.argument("key_id")
@_database_options
@handles_errors
def revoke(key_id: str, database: str | None, data_dir: Path | None, as_json: bool) -> None:
    """Revoke the key KEY_ID at once and for good."""
    from conversio_server.keys import KeyStore

    with KeyStore(_database_url(database, data_dir)) as store:
        if not store.revoke(key_id):
            known = store.get(key_id)
            why = "is already revoked" if known is not None else "does not exist"
            raise InvalidOption(f"the key {key_id} {why}", option="key_id")
    if as_json:
        click.echo(json.dumps({"id": key_id, "revoked": True}))
    else:
        click.echo(f"revoked key {key_id}")


def _describe(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "scopes": sorted(record.scopes),
        "tier": record.tier,
        "createdAt": record.created_at.isoformat(),
        "revokedAt": None if record.revoked_at is None else record.revoked_at.isoformat(),
    }


def add_commands(cli: click.Group) -> None:
    """Add ``conversio keys`` to ``cli`` (called by the plugin's ``register_commands`` hook)."""
    cli.add_command(keys)
