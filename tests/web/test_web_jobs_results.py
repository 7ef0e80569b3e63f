"""A job's card on the convert page: live status, results with signed links, a zip of them all, lazy
previews, a failed job's coded error and Retry, a running job's Cancel.

The card is driven through the page's own `jobs.js` module (`runJob`, the call the convert form
makes), with inputs stored through the API: the form itself is covered by the convert scenarios.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import Locator, Page, expect
from web_pages import sign_in
from web_samples import Samples, write_pdf
from web_support import Server

#: Seconds a job of these small files may take, however busy the machine.
JOB_TIMEOUT = 60.0


def done(files: str) -> re.Pattern[str]:
    """A finished card's status: "Done: 3 files." or "Done in 2 s: 3 files."."""
    return re.compile(rf"^Done( in [^:]+)?: {files}\.$")


def store(client: httpx.Client, path: Path) -> dict[str, Any]:
    """``path`` stored through the API: its description (`id`, `name`, …)."""
    with path.open("rb") as file:
        answer = client.post("/v1/files", files={"file": (path.name, file)})
    answer.raise_for_status()
    return dict(answer.json()["files"][0])


def run_job(page: Page, spec: dict[str, Any], label: str) -> Locator:
    """Start a job as the convert form does; the job's card, found by its label."""
    page.evaluate(
        "async ([spec, label]) => (await import('/static/js/jobs.js')).runJob(spec, {label})", [spec, label]
    )
    return page.get_by_role("article", name=label)


def start_job(page: Page, server: Server, path: Path, label: str, **spec: Any) -> Locator:
    """Store ``path`` through the API, sign in, and start a job of it (``spec``: the rest of its body)."""
    assert server.key
    with server.client() as client:
        stored = store(client, path)
    sign_in(page, server.url, server.key)
    return run_job(page, {"inputs": [{"fileId": stored["id"]}], **spec}, label)


def expect_loaded(page: Page, image: Locator) -> None:
    """Wait until ``image`` has loaded a picture."""
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image.element_handle())


def job_of(server: Server, card: Locator) -> dict[str, Any]:
    """The card's job as the API shows it."""
    job_id = card.get_attribute("data-job-id")
    with server.client() as client:
        return dict(client.get(f"/v1/jobs/{job_id}").json())


def wait_for_attempts(server: Server, card: Locator, attempts: int) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT
    while time.monotonic() < deadline:
        job = job_of(server, card)
        if job["attempts"] >= attempts and job["status"] in ("completed", "failed", "cancelled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"the job did not finish its attempt {attempts} in {JOB_TIMEOUT:.0f} s")


def test_pages_of_a_pdf_download_one_by_one_or_as_a_zip(page: Page, server: Server, tmp_path: Path) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    pdf = write_pdf(tmp_path / "three pages.pdf", 3)
    card = start_job(page, server, pdf, "three pages → png", outputFormat="png", options={"dpi": 20})
    expect(card.locator(".job-status")).to_have_text(done("3 files"), timeout=JOB_TIMEOUT * 1000)
    outputs = job_of(server, card)["outputs"]
    assert [o["name"] for o in outputs] == [f"three pages-page00{n}.png" for n in (1, 2, 3)]

    first = outputs[0]
    link = card.get_by_role("link", name=f"Download {first['name']}")
    expect(link).to_have_attribute("download", first["name"])
    signed_link = str(link.get_attribute("href"))  # signed anew at each answer: compared by its file
    assert signed_link.startswith(first["contentUrl"] + "?") and "signature=" in signed_link
    assert server.key and server.key not in page.content()
    preview = card.get_by_role("img", name=f"Preview of {first['name']}")
    expect(preview).to_be_visible()
    expect_loaded(page, preview)

    card.get_by_role("button", name=f"Copy link to {first['name']}").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == signed_link
    signed = httpx.get(copied, timeout=30)  # no key: the signed link opens this one file
    assert signed.status_code == 200
    assert Image.open(io.BytesIO(signed.content)).format == "PNG"

    with page.expect_download() as download_info:
        card.get_by_role("button", name="Download all as zip").click()
    download = download_info.value
    assert download.suggested_filename == "three pages-page.zip"
    with zipfile.ZipFile(download.path()) as archive:
        members = sorted(archive.namelist())
        assert members == sorted(o["name"] for o in outputs)
        for member in members:
            assert Image.open(io.BytesIO(archive.read(member))).format == "PNG"
    assert page.evaluate("[...document.querySelectorAll('a[href^=\"blob:\"]')].length") == 0


def test_a_pdf_result_previews_its_first_page(page: Page, server: Server, samples: Samples) -> None:
    card = start_job(page, server, samples.png, "picture → pdf", outputFormat="pdf")
    expect(card.locator(".job-status")).to_have_text(done("1 file"), timeout=JOB_TIMEOUT * 1000)
    preview = card.get_by_role("img", name="First page of picture.pdf")
    expect(preview).to_have_attribute("src", re.compile("^blob:"))
    expect_loaded(page, preview)


def test_a_failed_job_shows_its_coded_error_and_retries(page: Page, server: Server, samples: Samples) -> None:
    card = start_job(page, server, samples.corrupt_pdf, "broken → png", outputFormat="png")
    error = card.locator(".error-box")
    expect(error.locator("code")).to_have_text("CORRUPT_FILE", timeout=JOB_TIMEOUT * 1000)
    expect(error).to_contain_text("broken.pdf")
    expect(error).to_contain_text("open it in its own program")
    expect(card.get_by_role("button", name="Cancel")).to_be_hidden()
    retry = card.get_by_role("button", name="Retry")
    retry.focus()
    page.keyboard.press("Enter")
    job = wait_for_attempts(server, card, 2)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "CORRUPT_FILE"
    expect(error.locator("code")).to_have_text("CORRUPT_FILE")
    expect(card.get_by_role("button", name="Retry")).to_be_focused()


def test_a_refused_job_says_why_in_its_card(page: Page, server: Server) -> None:
    assert server.key
    sign_in(page, server.url, server.key)
    card = run_job(page, {"inputs": [{"fileId": "no-such-file"}], "outputFormat": "png"}, "gone → png")
    expect(card.locator(".job-status")).to_have_text("Not started.")
    expect(card.locator(".error-box code")).to_have_text("FILE_NOT_FOUND")
    expect(card.get_by_role("button", name="Retry")).to_be_hidden()


def test_a_running_job_is_cancelled_then_retried(page: Page, server: Server, samples: Samples) -> None:
    card = start_job(page, server, samples.video, "long clip → webm", outputFormat="webm")
    status = card.locator(".job-status")
    expect(status).to_contain_text("Running step 1: mp4 → webm", timeout=JOB_TIMEOUT * 1000)
    expect(card.get_by_role("progressbar", name="Progress of long clip → webm")).to_be_visible()
    cancel = card.get_by_role("button", name="Cancel")
    cancel.focus()
    page.keyboard.press("Enter")
    expect(status).to_have_text("Cancelled.", timeout=JOB_TIMEOUT * 1000)
    assert job_of(server, card)["status"] == "cancelled"
    expect(card.get_by_role("button", name="Retry")).to_be_focused()

    page.keyboard.press("Enter")
    expect(status).to_contain_text("Running step 1: mp4 → webm", timeout=JOB_TIMEOUT * 1000)
    card.get_by_role("button", name="Cancel").click()
    expect(status).to_have_text("Cancelled.", timeout=JOB_TIMEOUT * 1000)
    job = job_of(server, card)
    assert (job["status"], job["attempts"]) == ("cancelled", 2)
