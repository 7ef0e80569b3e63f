"""Jobs with API keys: a key sees only its own jobs, webhooks are signed with the key's secret, and a
key's jobs run at most ``concurrent_jobs`` of its tier at once (the rest wait, even with free workers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LiveServer, needs, start_server
from conversio_server.auth import AuthConfig
from conversio_server.keys import KeyStore
from conversio_server.settings import ServerSettings
from conversio_server.tiers import Tier
from jobs_support.receiver import Receiver
from server_samples import png_bytes
from test_jobs import TESTS, job_settings, upload, wait_job

from conversio.webhooks import verify_webhook

needs("image")


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    import os

    os.environ["PYTHONPATH"] = TESTS + os.pathsep + os.environ.get("PYTHONPATH", "")
    data_dir = tmp_path_factory.mktemp("keyed")
    base = job_settings(data_dir)
    tiers = {"one": Tier(name="one", concurrent_jobs=1), "many": Tier(name="many")}
    settings = ServerSettings.load(
        environ={},
        **{
            **{f: getattr(base, f) for f in ("data_dir", "url_allow", "extra_plugins", "workers")},
            **{f: getattr(base, f) for f in ("job_lease", "job_heartbeat", "job_poll_interval")},
            "dev": False,
            "job_workers": 2,
            "sweep_interval": 3600.0,
            "auth": AuthConfig(database_url=base.database_url, tiers=tiers),
        },
    )
    with KeyStore(settings.database_url) as keys:
        one, one_key = keys.create("one", "read,convert", "one")
        _, many_key = keys.create("many", "read,convert", "many")
        secret = keys.webhook_secret(one.id)
    assert secret is not None
    server = start_server(settings)
    yield server, {"one": one_key, "many": many_key, "secret": secret}
    server.stop()


def test_jobs_are_private_to_their_key(keyed: tuple[LiveServer, dict[str, str]]) -> None:
    server, keys = keyed
    receiver = Receiver()
    try:
        with (
            server.client(headers={"Authorization": f"Bearer {keys['one']}"}) as one,
            server.client(headers={"Authorization": f"Bearer {keys['many']}"}) as other,
        ):
            file_id = upload(one, png_bytes())
            job_id = one.post(
                "/v1/jobs",
                json={"inputs": [{"fileId": file_id}], "outputFormat": "jpg", "webhook": f"{receiver.url}/k"},
            ).json()["jobId"]
            assert wait_job(one, job_id)["status"] == "completed"
            for method, path in (
                ("GET", f"/v1/jobs/{job_id}"),
                ("DELETE", f"/v1/jobs/{job_id}"),
                ("GET", f"/v1/jobs/{job_id}/events"),
                ("GET", f"/v1/jobs/{job_id}/webhooks"),
                ("POST", f"/v1/jobs/{job_id}/retry"),
            ):
                reply = other.request(method, path)
                assert reply.status_code == 404 and reply.json()["error"]["code"] == "JOB_NOT_FOUND", path
            assert other.get("/v1/jobs").json()["jobs"] == []
            assert [j["jobId"] for j in one.get("/v1/jobs").json()["jobs"]] == [job_id]
            assert server.client().get(f"/v1/jobs/{job_id}").status_code == 401
            got = receiver.wait_for(lambda r: r.json()["event"] == "job.completed")
            assert verify_webhook(got[0].body, got[0].headers, keys["secret"])["jobId"] == job_id
    finally:
        receiver.close()


def test_a_keys_jobs_run_within_its_concurrency(
    keyed: tuple[LiveServer, dict[str, str]], tmp_path: Path
) -> None:
    server, keys = keyed
    with server.client(headers={"Authorization": f"Bearer {keys['one']}"}) as one:
        file_id = upload(one, png_bytes())
        spec = {"inputs": [{"fileId": file_id}], "then": [{"step": "sleep", "options": {"seconds": 0.7}}]}
        body = one.post("/v1/batch", json={"jobs": [spec, spec, spec]}).json()
        ids = [j["jobId"] for j in body["jobs"]]
        most = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses = [
                j["status"]
                for j in one.get("/v1/jobs", params={"limit": 50}).json()["jobs"]
                if j["jobId"] in ids
            ]
            most = max(most, statuses.count("processing"))
            if statuses.count("completed") == 3:
                break
            time.sleep(0.05)
        assert most == 1, "two jobs of a key limited to one ran at once"
        assert one.get(f"/v1/batch/{body['batchId']}").json()["counts"]["completed"] == 3
