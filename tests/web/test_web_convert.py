"""The convert page's main scenarios, each checked in its output: a Word document to a zip of one
JPEG per page, two PDFs merged and encrypted, a long video cancelled, a corrupt PDF's coded error."""

from __future__ import annotations

import io
import re
import zipfile

import pikepdf
import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from web_pages import choose_and_upload, convert, download_result, expect_done, pick_target, plan_steps
from web_samples import DOCX_PAGES, PDF_PAGES, Samples
from web_support import Server

PASSWORD = "correct horse battery"


def test_a_word_document_becomes_a_zip_of_one_jpeg_per_page(signed_in: Page, samples: Samples) -> None:
    page = signed_in
    choose_and_upload(page, [samples.docx])
    expect(page.locator("#file-list")).to_contain_text("DOCX")
    pick_target(page, "ZIP", via="jpg")
    expect(page.locator("#route-view")).to_contain_text("docx → pdf → jpg (×pages) → zip")
    card = convert(page, f"{samples.docx.name} → zip via jpg")
    expect_done(card)
    saved = download_result(page, card, re.compile(r"^Download .*\.zip$"))
    with zipfile.ZipFile(saved) as archive:
        members = sorted(archive.namelist())
        assert len(members) == DOCX_PAGES, members
        for member in members:
            with Image.open(io.BytesIO(archive.read(member))) as picture:
                assert picture.format == "JPEG"
                assert picture.width > 500


def test_two_pdfs_merge_into_one_with_a_password(signed_in: Page, samples: Samples) -> None:
    page = signed_in
    plan_steps(page, list(samples.pdfs), "Keep PDF", "merge", "encrypt")
    page.get_by_label("user password").fill(PASSWORD)
    expect(page.locator("#plan-status")).to_have_text("2 files, one job.")
    card = convert(page, "2 files → merge → encrypt")
    expect_done(card)
    expect(card.locator(".job-status")).to_contain_text("1 file")
    saved = download_result(page, card, re.compile(r"^Download .*\.pdf$"))
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(saved)
    with pikepdf.open(saved, password=PASSWORD) as pdf:
        assert pdf.is_encrypted
        assert len(pdf.pages) == sum(PDF_PAGES)


def test_a_long_video_job_is_cancelled(signed_in: Page, samples: Samples, server: Server) -> None:
    page = signed_in
    choose_and_upload(page, [samples.video])
    pick_target(page, "WEBM")
    card = convert(page, f"{samples.video.name} → webm")
    expect(card.locator(".job-status")).to_have_text(re.compile(r"^Running"), timeout=30_000)
    card.get_by_role("button", name="Cancel").click()
    expect(card.locator(".job-status")).to_have_text("Cancelled.", timeout=30_000)
    expect(card.get_by_role("button", name="Retry")).to_be_visible()
    job_id = card.get_attribute("data-job-id")
    assert job_id
    with server.client() as api:
        job = api.get(f"/v1/jobs/{job_id}").json()
    assert job["status"] == "cancelled"
    assert not job.get("outputs")


def test_a_corrupt_pdf_shows_its_coded_error_and_what_to_do(signed_in: Page, samples: Samples) -> None:
    page = signed_in
    choose_and_upload(page, [samples.corrupt_pdf])
    pick_target(page, "PNG")
    card = convert(page, f"{samples.corrupt_pdf.name} → png")
    error = card.locator(".error-box")
    expect(error.locator("code")).to_have_text("CORRUPT_FILE", timeout=60_000)
    expect(error).to_contain_text(samples.corrupt_pdf.name)
    expect(error.locator(".error-advice")).to_contain_text("open it in its own program")
    expect(card.get_by_role("button", name="Retry")).to_be_visible()
    text = page.locator("body").inner_text()
    assert "Traceback" not in text
    assert 'File "' not in text
