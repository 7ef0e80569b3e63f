"""``conversio keys create | list | revoke``: manage the server's API keys.

The database is the server's (``--database``, else ``$CONVERSIO_SERVER_DATABASE_URL``,
else the default in the data folder); SQLAlchemy loads only when a command runs.
"""

from __future__ import annotations

import json
from typing import Any

import click

from conversio.cli import handles_errors
from conversio.errors import InvalidOption

_DATABASE_HELP = "Key database URL (default: the server's, $CONVERSIO_SERVER_DATABASE_URL)."


def _database_url(given: str | None) -> str:
    if given:
        return given
    from conversio_server.settings import ServerSettings

    return ServerSettings.load().database_url


@click.group()
def keys() -> None:
    """Create, list and revoke the API keys of `conversio serve`."""


@keys.command()
@click.option("--name", required=True, help="Who or what the key is for.")
@click.option(
    "--scopes", default="convert,read", show_default=True, help="Comma-separated: read, convert, admin."
)
@click.option("--tier", default="free", show_default=True, help="free, starter, professional, enterprise, …")
@click.option("--database", help=_DATABASE_HELP)
@handles_errors
def create(name: str, scopes: str, tier: str, database: str | None, as_json: bool) -> None:
    """Create a key and print it (once: only a digest is stored)."""
    from conversio_server.keys import KeyStore
    from conversio_server.tiers import load_tiers

    tiers = load_tiers()
    if tier not in tiers:
        raise InvalidOption(f"unknown tier {tier!r}; configured: {', '.join(tiers)}", option="tier")
    with KeyStore(_database_url(database)) as store:
        record, plaintext = store.create(name, scopes, tier)
    if as_json:
        click.echo(json.dumps({**_describe(record), "key": plaintext}))
        return
    click.echo(
        f"created key {record.id} ({record.name}; scopes {','.join(sorted(record.scopes))}; tier {tier})"
    )
    click.echo(plaintext)
    click.secho("Store it now: this key will not be shown again.", fg="yellow", err=True)


@keys.command(name="list")
@click.option("--database", help=_DATABASE_HELP)
@handles_errors
def list_keys(database: str | None, as_json: bool) -> None:
    """List the keys (ids, names, scopes, tiers; never a secret)."""
    from conversio_server.keys import KeyStore

    with KeyStore(_database_url(database)) as store:
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
@click.option("--database", help=_DATABASE_HELP)
@handles_errors
def revoke(key_id: str, database: str | None, as_json: bool) -> None:
    """Revoke the key KEY_ID at once and for good."""
    from conversio_server.keys import KeyStore

    with KeyStore(_database_url(database)) as store:
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
