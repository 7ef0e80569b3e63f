"""A Gotenberg webhook outlives the server that answered 204: the job its request became keeps the
webhook, so when that server stops in the middle of the conversion, the worker that runs the job again
sends the result, once, and no error goes out for the interrupted run."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import dev_settings, needs, start_server
from conversio_server.jobstore import JobStore
from jobs_support.receiver import Receiver
from test_gotenberg_routes import page_files, text_of, wait_for
from test_jobs import wait_job

needs("chromium")


def test_a_stopped_server_hands_the_webhook_to_the_worker_that_finishes_the_job(tmp_path: Path) -> None:
    receiver = Receiver()
    settings = dict(url_allow=("127.0.0.1",), webhook_retry="1,1")
    first = start_server(dev_settings(tmp_path, job_workers=0, **settings))
    try:
        with first.client() as http:
            reply = http.post(
                "/forms/chromium/convert/html",
                files=page_files(),
                data={"waitDelay": "4s"},
                headers={
                    "Gotenberg-Webhook-Url": f"{receiver.url}/done",
                    "Gotenberg-Webhook-Error-Url": f"{receiver.url}/failed",
                    "Gotenberg-Output-Filename": "page",
                    "Gotenberg-Trace": "durable-1",
                },
            )
            assert reply.status_code == 204, reply.text
            (job,) = http.get("/v1/jobs").json()["jobs"]
            wait_job(http, job["jobId"], until=("processing",))
    finally:
        first.stop()  # mid-conversion: the job is given back to the queue
    jobs = JobStore(first.settings.database_url)
    try:
        assert jobs.get(job["jobId"])["status"] == "queued"
    finally:
        jobs.close()
    second = start_server(dev_settings(tmp_path, job_workers=1, **settings))
    try:
        got = wait_for(receiver, "/done")
        assert got.headers["content-type"] == "application/pdf"
        assert 'filename="page.pdf"' in got.headers["content-disposition"]
        assert got.headers["gotenberg-trace"] == "durable-1"
        assert "Quarterly" in text_of(got.body)
        with second.client() as http:
            finished = wait_job(http, job["jobId"])
        assert finished["status"] == "completed" and finished["attempts"] == 2
        time.sleep(1.0)  # anything else would have been sent by now
        assert [r.path for r in receiver.requests] == ["/done"]
    finally:
        second.stop()
        receiver.httpd.shutdown()
        receiver.httpd.server_close()
