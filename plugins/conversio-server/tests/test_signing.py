"""Signed download URLs: HMAC-SHA256 over id and expiry, compared in constant time."""

from __future__ import annotations

import hmac
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from conversio_server import signing
from conversio_server.database import create_engine
from conversio_server.errors import ApiError
from conversio_server.settings import ServerSettings
from conversio_server.signing import (
    SECRET_BYTES,
    SignedLinks,
    load_or_create_secret,
    secret_path_for,
    sign,
    verify,
)

from conversio import Conversio
from conversio.stores.base import Artifact

SECRET = b"s" * 32
NOW = 1_800_000_000


def test_a_signature_verifies_until_it_expires() -> None:
    signature = sign("file-1", NOW + 60, SECRET)
    assert len(signature) == 64 and int(signature, 16) >= 0
    assert verify("file-1", NOW + 60, signature, SECRET, now=NOW)
    assert verify("file-1", str(NOW + 60), signature, SECRET, now=NOW + 60)
    assert not verify("file-1", NOW + 60, signature, SECRET, now=NOW + 61)


@pytest.mark.parametrize(
    ("file_id", "expires", "secret"),
    [("file-2", NOW + 60, SECRET), ("file-1", NOW + 61, SECRET), ("file-1", NOW + 60, b"t" * 32)],
)
def test_a_signature_is_bound_to_id_expiry_and_secret(file_id: str, expires: int, secret: bytes) -> None:
    signature = sign("file-1", NOW + 60, SECRET)
    assert not verify(file_id, expires, signature, secret, now=NOW)


@pytest.mark.parametrize("signature", ["", "zz", "0" * 64, "é" * 64, "A" * 200])
def test_malformed_signatures_are_invalid(signature: str) -> None:
    assert not verify("file-1", NOW + 60, signature, SECRET, now=NOW)


@pytest.mark.parametrize("expires", ["", "soon", "1e9", None])
def test_malformed_expiries_are_invalid(expires: Any) -> None:
    assert not verify("file-1", expires, sign("file-1", NOW, SECRET), SECRET, now=NOW - 10)


def test_verification_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    good = sign("file-1", NOW + 60, SECRET)
    assert verify("file-1", NOW + 60, good, SECRET, now=NOW)
    assert not verify("file-1", NOW + 60, "0" * 64, SECRET, now=NOW)
    assert len(calls) == 2 and calls[0][1] == good.encode()


def test_a_link_round_trips_and_never_outlives_its_file() -> None:
    links = SignedLinks(SECRET, ttl=3600)
    before = int(time.time())
    query = parse_qs(links.query(Artifact("abc", "a.png", "png", 1, "0" * 64, before)))
    expires = int(query["expires"][0])
    assert before + 3600 <= expires <= int(time.time()) + 3600
    assert verify("abc", expires, query["signature"][0], SECRET, now=expires - 1)
    assert not verify("abc", expires, query["signature"][0], SECRET, now=expires + 1)
    brief = parse_qs(links.query(Artifact("abc", "a.png", "png", 1, "0" * 64, before, before + 60)))
    assert brief["expires"] == [str(before + 60)]


def test_the_generated_secret_is_private_persistent_and_shared(tmp_path: Path) -> None:
    path = tmp_path / "data" / "signing.key"
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(load_or_create_secret(path))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and len(results[0]) == 2 * signing.SECRET_BYTES
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_secret(path) == results[0]
    assert [p.name for p in path.parent.iterdir()] == ["signing.key"]
    other = load_or_create_secret(tmp_path / "other.key")
    assert other != results[0]


def test_the_secret_lives_next_to_a_sqlite_database(tmp_path: Path) -> None:
    assert (
        secret_path_for(f"sqlite:///{tmp_path}/db/server.sqlite3", tmp_path / "x")
        == tmp_path / "db" / "signing.key"
    )
    assert secret_path_for("sqlite://", tmp_path / "x") == tmp_path / "x" / "signing.key"
    assert secret_path_for("postgresql://u@h/db", tmp_path / "x") == tmp_path / "x" / "signing.key"


def test_hosts_sharing_a_postgresql_database_sign_links_alike(postgres_url: str, tmp_path: Path) -> None:
    """Two hosts, each with its own data folder, one database: a link one signs, the other opens."""
    engines = [create_engine(postgres_url) for _ in range(2)]
    try:
        hosts = [
            SignedLinks.of(
                ServerSettings.load(environ={}, data_dir=tmp_path / name, database_url=postgres_url),
                engine,
                Conversio(store="memory://", executor="inline"),
            )
            for name, engine in zip(("api-1", "api-2"), engines, strict=True)
        ]
    finally:
        for engine in engines:
            engine.dispose()
    assert hosts[0].secret == hosts[1].secret and len(hosts[0].secret) == 2 * SECRET_BYTES
    assert not any((tmp_path / name / "signing.key").exists() for name in ("api-1", "api-2"))
    expires = int(time.time()) + 60
    hosts[1].check("file-1", expires, sign("file-1", expires, hosts[0].secret))
    with pytest.raises(ApiError):
        hosts[1].check("file-2", expires, sign("file-1", expires, hosts[0].secret))
