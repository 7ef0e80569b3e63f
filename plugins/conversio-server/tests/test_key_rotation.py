"""Rotating a key's API key and webhook secret with an overlap window, without downtime.

The store and the CLI (``conversio keys create | rotate --data-dir``), then a real server on 127.0.0.1:
a client calling all along with the old key never fails, a webhook sent during the overlap verifies
with the old and the new secret, and once the overlap ends only the new ones work.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import LiveServer, needs, start_server
from conversio_server.keys import KeyStore, retired_secrets
from conversio_server.keys_cli import keys, parse_duration
from conversio_server.settings import ServerSettings
from jobs_support.receiver import Receiver
from server_samples import png_bytes
from test_jobs import TESTS, job_settings, upload, wait_job

from conversio.errors import InvalidOption
from conversio.webhooks import WEBHOOK_SIGNATURE, WebhookVerificationError, verify_webhook

KEY = re.compile(r"^cv_[0-9a-f]{16}_[A-Za-z0-9_\-]{43}$")
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/=]{40,}$")
DEADLINE = 30.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KeyStore]:
    with KeyStore(f"sqlite:///{tmp_path / 'keys.sqlite3'}") as opened:
        yield opened


def end_overlap(store_or_url: KeyStore | str) -> None:
    """Move every overlap's end into the past (as if its time had come)."""
    engine = store_or_url.engine if isinstance(store_or_url, KeyStore) else sa.create_engine(store_or_url)
    with engine.begin() as db:
        db.execute(retired_secrets.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))


# the store


def test_during_the_overlap_both_api_keys_work_and_only_the_new_one_after(store: KeyStore) -> None:
    record, old = store.create("ci", "convert", "free")
    old_signing = store.webhook_secret(record.id)
    rotation = store.rotate(record.id, overlap=3600)
    assert rotation.api_key is not None and KEY.match(rotation.api_key) and rotation.api_key != old
    assert rotation.webhook_secret is not None and rotation.webhook_secret != old_signing
    assert store.authenticate(old) == store.authenticate(rotation.api_key) == rotation.record
    assert store.webhook_secret(record.id) == rotation.webhook_secret
    assert store.signing_secrets(record.id) == (rotation.webhook_secret, old_signing)
    end_overlap(store)
    assert store.authenticate(old) is None
    assert store.authenticate(rotation.api_key) is not None
    assert store.signing_secrets(record.id) == (rotation.webhook_secret,)


def test_the_overlap_ends_by_itself(store: KeyStore) -> None:
    record, old = store.create("ci", "convert", "free")
    rotation = store.rotate(record.id, overlap=1.0)
    assert store.authenticate(old) is not None
    deadline = time.monotonic() + DEADLINE
    while store.authenticate(old) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.authenticate(old) is None
    assert rotation.api_key is not None and store.authenticate(rotation.api_key) is not None
    assert len(store.signing_secrets(record.id) or ()) == 1


def test_rotating_one_secret_keeps_the_other(store: KeyStore) -> None:
    record, old = store.create("ci", "convert", "free")
    signing = store.webhook_secret(record.id)
    only_key = store.rotate(record.id, webhook_secret=False, overlap=0)
    assert only_key.webhook_secret is None and store.webhook_secret(record.id) == signing
    assert store.authenticate(old) is None  # no overlap: the old key stopped at once
    only_webhook = store.rotate(record.id, api_key=False, overlap=60)
    assert only_webhook.api_key is None
    assert only_key.api_key is not None and store.authenticate(only_key.api_key) is not None
    assert store.signing_secrets(record.id) == (only_webhook.webhook_secret, signing)


def test_a_revoked_or_unknown_key_cannot_be_rotated_and_revoking_ends_the_overlap(store: KeyStore) -> None:
    record, old = store.create("ci", "convert", "free")
    rotation = store.rotate(record.id, overlap=3600)
    store.revoke(record.id)
    assert store.authenticate(old) is None
    assert rotation.api_key is not None and store.authenticate(rotation.api_key) is None
    with pytest.raises(InvalidOption, match="is revoked"):
        store.rotate(record.id)
    with pytest.raises(InvalidOption, match="does not exist"):
        store.rotate("0123456789abcdef")
    with pytest.raises(InvalidOption):
        store.rotate(record.id, api_key=False, webhook_secret=False)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("24h", 86400), ("1.5d", 129600), ("0", 0)]
)
def test_overlap_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "3w", "1h30m"])
def test_bad_overlap_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidOption):
        parse_duration(text)


# the CLI


def test_the_cli_prints_the_webhook_secret_and_rotates_in_a_data_dir(tmp_path: Path) -> None:
    runner = CliRunner()
    data_dir = str(tmp_path / "data")
    created = runner.invoke(keys, ["create", "--name", "ci", "--data-dir", data_dir])
    assert created.exit_code == 0, created.output
    lines = created.stdout.splitlines()
    (key,) = [line for line in lines if KEY.match(line)]
    (signing,) = [line for line in lines if SECRET.match(line)]
    assert "will not be shown again" in created.stderr
    assert (tmp_path / "data" / "server.sqlite3").is_file()  # the server's database in that folder
    key_id = key.split("_")[1]

    listed = runner.invoke(keys, ["list", "--data-dir", data_dir])
    assert key_id in listed.stdout and "cv_" not in listed.stdout and "whsec_" not in listed.stdout

    rotated = runner.invoke(keys, ["rotate", key_id, "--overlap", "1h", "--json", "--data-dir", data_dir])
    assert rotated.exit_code == 0, rotated.output
    body = json.loads(rotated.stdout)
    assert KEY.match(body["key"]) and SECRET.match(body["webhookSecret"]) and body["webhookSecret"] != signing
    until = datetime.fromisoformat(body["overlapUntil"])
    assert timedelta(minutes=59) < until - datetime.now(UTC) <= timedelta(hours=1)
    settings = ServerSettings.load(environ={}, data_dir=tmp_path / "data")
    with KeyStore(settings.database_url) as store:
        assert store.authenticate(key) is not None and store.authenticate(body["key"]) is not None

    webhook_only = runner.invoke(
        keys, ["rotate", key_id, "--secret", "webhook", "--overlap", "0", "--data-dir", data_dir]
    )
    assert webhook_only.exit_code == 0, webhook_only.output
    assert "webhook secret stopped working now" in webhook_only.stdout
    assert not [line for line in webhook_only.stdout.splitlines() if KEY.match(line)]

    for args, message in (
        (["rotate", key_id, "--overlap", "soon"], "not a duration"),
        (["rotate", "0123456789abcdef"], "does not exist"),
    ):
        refused = runner.invoke(keys, [*args, "--data-dir", data_dir])
        assert refused.exit_code == 2 and message in refused.stderr


# a live server


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    import os

    needs("image")
    old_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = TESTS + (os.pathsep + old_path if old_path else "")
    base = job_settings(tmp_path_factory.mktemp("rotation"), job_workers=1, webhook_dispatchers=1)
    fields = ("data_dir", "url_allow", "extra_plugins", "workers", "job_heartbeat", "job_poll_interval")
    settings = ServerSettings.load(
        environ={}, dev=False, sweep_interval=3600.0, **{f: getattr(base, f) for f in fields}
    )
    server = start_server(settings)
    yield server
    server.stop()
    if old_path is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old_path


def converted_webhook(
    server: LiveServer, key: str, receiver: Receiver, path: str
) -> tuple[bytes, dict[str, str]]:
    """Run a job under ``key`` with a webhook to ``path``; its ``job.completed`` delivery."""
    with server.client(headers={"Authorization": f"Bearer {key}"}) as client:
        file_id = upload(client, png_bytes())
        job = client.post(
            "/v1/jobs",
            json={"inputs": [{"fileId": file_id}], "outputFormat": "jpg", "webhook": f"{receiver.url}{path}"},
        )
        assert job.status_code == 202, job.text
        assert wait_job(client, job.json()["jobId"])["status"] == "completed"
    (got,) = receiver.wait_for(lambda r: r.path == path and r.json()["event"] == "job.completed")
    return got.body, {name.lower(): value for name, value in got.headers.items()}


def test_rotation_without_downtime(keyed: LiveServer) -> None:
    database = keyed.settings.database_url
    with KeyStore(database) as store:
        record, old_key = store.create("rotating", "read,convert", "enterprise")  # no rate limit
        old_secret = store.webhook_secret(record.id)
    assert old_secret is not None
    statuses: list[int] = []
    stop = threading.Event()

    def keep_calling() -> None:
        with keyed.client(headers={"Authorization": f"Bearer {old_key}"}) as client:
            while not stop.is_set():
                statuses.append(client.get("/v1/jobs").status_code)
                time.sleep(0.02)

    caller = threading.Thread(target=keep_calling, daemon=True)
    caller.start()
    receiver = Receiver()
    try:
        deadline = time.monotonic() + DEADLINE
        while len(statuses) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        rotated = CliRunner().invoke(
            keys, ["rotate", record.id, "--overlap", "24h", "--json", "--database", database]
        )
        assert rotated.exit_code == 0, rotated.output
        new_key, new_secret = json.loads(rotated.stdout)["key"], json.loads(rotated.stdout)["webhookSecret"]
        before = len(statuses)
        while len(statuses) < before + 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        with keyed.client(headers={"Authorization": f"Bearer {new_key}"}) as client:
            assert client.get("/v1/jobs").status_code == 200

        # a webhook sent during the overlap carries both signatures: either secret verifies it
        body, headers = converted_webhook(keyed, new_key, receiver, "/during")
        assert len(headers[WEBHOOK_SIGNATURE].split()) == 2
        for secret in (old_secret, new_secret):
            assert verify_webhook(body, headers, secret)["event"] == "job.completed"
        stop.set()
        caller.join(timeout=DEADLINE)
        assert len(statuses) > before + 5 and set(statuses) == {200}, "a call failed during the rotation"

        end_overlap(database)
        with keyed.client(headers={"Authorization": f"Bearer {old_key}"}) as client:
            refused = client.get("/v1/jobs")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED"
        body, headers = converted_webhook(keyed, new_key, receiver, "/after")
        assert len(headers[WEBHOOK_SIGNATURE].split()) == 1
        assert verify_webhook(body, headers, new_secret)["event"] == "job.completed"
        with pytest.raises(WebhookVerificationError) as failed:
            verify_webhook(body, headers, old_secret)
        assert failed.value.reason == "no_matching_signature"
    finally:
        stop.set()
        receiver.close()
