"""API keys in a real SQLite file and a real PostgreSQL database: digests only, constant-time checks,
revocation, usage, the CLI."""

from __future__ import annotations

import hmac
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conversio_server.keys import KeyStore, current_period
from conversio_server.keys_cli import add_commands, keys

from conversio.errors import InvalidOption
from conversio.webhooks import secret_key

KEY = re.compile(r"^cv_([0-9a-f]{16})_([A-Za-z0-9_\-]{43})$")


@pytest.fixture
def db_url(database_url: str) -> str:
    return database_url


@pytest.fixture
def store(db_url: str) -> Iterator[KeyStore]:
    with KeyStore(db_url) as opened:
        yield opened


def everything_stored(db_url: str, tmp_path: Path) -> bytes:
    """Every byte of the SQLite files, or every row of every PostgreSQL table as text."""
    if db_url.startswith("sqlite"):
        return b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as db:
            tables = db.scalars(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()
            rows = [db.scalars(sa.text(f'SELECT t::text FROM "{name}" AS t')).all() for name in tables]
    finally:
        engine.dispose()
    return "\n".join(row for table in rows for row in table).encode()


def test_a_key_is_shown_once_and_only_its_digest_is_stored(
    store: KeyStore, db_url: str, tmp_path: Path
) -> None:
    record, plaintext = store.create("ci", "convert,read", "starter")
    match = KEY.match(plaintext)
    assert match, plaintext
    assert record.id == match.group(1) and record.scopes == {"convert", "read"} and record.tier == "starter"
    secret = match.group(2)
    store.close()
    stored = everything_stored(db_url, tmp_path)
    assert secret.encode() not in stored and plaintext.encode() not in stored
    assert record.id.encode() in stored


def test_authenticate_accepts_the_key_and_nothing_else(store: KeyStore) -> None:
    record, plaintext = store.create("ci", ["convert"], "free")
    assert store.authenticate(plaintext) == record
    key_id, secret = KEY.match(plaintext).groups()  # type: ignore[union-attr]
    other_secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for wrong in [
        f"cv_{key_id}_{other_secret}",
        f"cv_{'0' * 16}_{secret}",
        f"cv_{key_id}_",
        f"cv_{key_id}",
        plaintext[3:],
        "",
        "cv_",
        plaintext + "x",
        "cv_" + "x" * 300,
    ]:
        assert store.authenticate(wrong) is None, wrong


def test_authentication_compares_digests_in_constant_time(
    store: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, plaintext = store.create("ci", "read", "free")
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert store.authenticate(plaintext) is not None
    assert store.authenticate(plaintext[:-2] + "zz") is None
    assert store.authenticate("cv_0123456789abcdef_" + plaintext[-43:]) is None  # unknown id: same work
    assert len(calls) == 3 and all(len(a) == len(b) == 64 for a, b in calls)


def test_a_revoked_key_no_longer_authenticates(store: KeyStore, db_url: str) -> None:
    record, plaintext = store.create("ci", "read", "free")
    assert store.revoke(record.id) is True
    assert store.revoke(record.id) is False and store.revoke("nope") is False
    assert store.authenticate(plaintext) is None
    with KeyStore(db_url) as reopened:
        (listed,) = reopened.list()
        assert listed.id == record.id and not listed.active and listed.revoked_at is not None
        assert reopened.authenticate(plaintext) is None


def test_keys_are_listed_without_secrets_and_keep_a_webhook_secret(store: KeyStore, db_url: str) -> None:
    first, _ = store.create("alpha", "read", "free")
    second, _ = store.create("beta", "admin,convert", "enterprise")
    assert [r.name for r in store.list()] == ["alpha", "beta"]
    assert all(not hasattr(r, "digest") and not hasattr(r, "webhook_secret") for r in store.list())
    secret1, secret2 = store.webhook_secret(first.id), store.webhook_secret(second.id)
    assert secret1 and secret2 and secret1 != secret2
    assert secret1.startswith("whsec_") and len(secret_key(secret1)) == 32  # Standard Webhooks form
    assert store.webhook_secret("unknown") is None
    with KeyStore(db_url) as reopened:
        assert reopened.webhook_secret(first.id) == secret1


@pytest.mark.parametrize(("name", "scopes"), [("ci", "convert,delete"), ("ci", ""), ("  ", "read")])
def test_bad_names_and_scopes_are_refused(store: KeyStore, name: str, scopes: str) -> None:
    with pytest.raises(InvalidOption):
        store.create(name, scopes, "free")


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with KeyStore(f"sqlite:///{tmp_path / 'data' / 'keys.sqlite3'}") as store, store.engine.connect() as db:
        assert db.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_usage_is_counted_atomically_and_survives_a_reopen(store: KeyStore, db_url: str) -> None:
    results: list[int | None] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            total = store.consume("k1", 100)
            with lock:
                results.append(total)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted = [r for r in results if r is not None]
    assert len(granted) == 100 and sorted(granted) == list(range(1, 101))
    assert results.count(None) == 20
    assert store.usage("k1") == 100 and store.usage("k2") == 0
    store.refund("k1", 3)
    with KeyStore(db_url) as reopened:
        assert reopened.usage("k1") == 97
        assert reopened.consume("k1", 100, count=4) is None
        assert reopened.consume("k1", 100, count=3) == 100
        assert reopened.usage("k1", period="1999-01") == 0
        assert reopened.consume("k1", None, count=1000) == 1100
    assert re.match(r"^\d{4}-\d{2}$", current_period())


# the CLI


def test_the_cli_prints_the_key_once_and_lists_without_it(db_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        keys,
        ["create", "--name", "ci", "--scopes", "convert,read", "--tier", "starter", "--database", db_url],
    )
    assert created.exit_code == 0, created.output
    (plaintext,) = [line for line in created.stdout.splitlines() if KEY.match(line)]
    assert "will not be shown again" in created.stderr
    key_id = KEY.match(plaintext).group(1)  # type: ignore[union-attr]

    listed = runner.invoke(keys, ["list", "--database", db_url])
    assert listed.exit_code == 0 and key_id in listed.stdout and "tier=starter" in listed.stdout
    assert plaintext[20:] not in listed.output and "cv_" not in listed.output

    as_json = json.loads(runner.invoke(keys, ["list", "--json", "--database", db_url]).stdout)
    assert as_json[0]["id"] == key_id and as_json[0]["scopes"] == ["convert", "read"]
    assert "key" not in as_json[0]

    revoked = runner.invoke(keys, ["revoke", key_id, "--database", db_url])
    assert revoked.exit_code == 0 and f"revoked key {key_id}" in revoked.stdout
    again = runner.invoke(keys, ["revoke", key_id, "--database", db_url])
    assert again.exit_code == 2 and "already revoked" in again.stderr
    assert "revoked" in runner.invoke(keys, ["list", "--database", db_url]).stdout
    with KeyStore(db_url) as store:
        assert store.authenticate(plaintext) is None


def test_the_cli_refuses_unknown_tiers_and_scopes(db_url: str) -> None:
    runner = CliRunner()
    tier = runner.invoke(keys, ["create", "--name", "x", "--tier", "gold", "--database", db_url])
    assert tier.exit_code == 2 and "unknown tier 'gold'" in tier.stderr
    scope = runner.invoke(keys, ["create", "--name", "x", "--scopes", "root", "--database", db_url])
    assert scope.exit_code == 2 and "unknown scopes" in scope.stderr
    assert "no keys" in runner.invoke(keys, ["list", "--database", db_url]).stdout


def test_add_commands_adds_the_keys_group() -> None:
    import click

    group = click.Group("conversio")
    add_commands(group)
    assert group.commands["keys"] is keys


def test_conversio_keys_through_the_installed_cli(tmp_path: Path) -> None:
    env_db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    command = [sys.executable, "-m", "conversio", "keys"]
    created = subprocess.run(
        [*command, "create", "--name", "ops", "--scopes", "admin", "--database", env_db],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    keys_printed = [line for line in created.stdout.splitlines() if KEY.match(line)]
    assert len(keys_printed) == 1
    listed = subprocess.run(
        [*command, "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**_env(), "CONVERSIO_SERVER_DATABASE_URL": env_db},
    )
    assert listed.returncode == 0, listed.stderr
    assert "ops" in listed.stdout and keys_printed[0] not in listed.stdout and "cv_" not in listed.stdout


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
