"""The convert form's own controls against a real `conversio serve --dev`: a file chosen and
recognised, a target and a waypoint picked, the route previewed and run; option fields checked before
anything is sent; the router's refusal shown with its code; a merge step making one job of all the
files."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from playwright.sync_api import Page, expect
from web_samples import DOCX_PAGES, Samples
from web_support import Server


def choose_files(page: Page, files: list[Path]) -> None:
    """Choose ``files`` with the page's file input, as the file dialog does."""
    page.get_by_label("Choose files to convert", exact=True).set_input_files(files)


#: Seconds the docx → zip via jpg job may take (LibreOffice's first start included).
JOB_TIMEOUT_MS = 90_000


def test_a_docx_becomes_a_zip_of_page_pictures(page: Page, dev_server: Server, samples: Samples) -> None:
    page.goto(dev_server.url)
    choose_files(page, [samples.docx])
    expect(page.get_by_role("list", name="Chosen files")).to_contain_text("DOCX · document")
    expect(page.locator("#targets")).to_be_focused()

    page.get_by_role("radio", name="ZIP", exact=True).check()
    page.get_by_label("Go through (optional)").select_option("jpg")
    expect(page.locator(".route-path")).to_have_text(re.compile(r"^docx → .*jpg.* → zip"))
    expect(page.get_by_role("button", name="Convert", exact=True)).to_be_enabled()
    page.get_by_role("button", name="Convert", exact=True).click()

    card = page.get_by_role("article", name=f"{samples.docx.name} → zip via jpg")
    expect(card).to_contain_text(re.compile(r"Done( in [^:]+)?: 1 file\."), timeout=JOB_TIMEOUT_MS)
    with dev_server.client() as client:
        job = client.get(f"/v1/jobs/{card.get_attribute('data-job-id')}").json()
        assert any(step["converter"].endswith("->jpg") for step in job["steps"]), job["steps"]
        content = client.get(f"/v1/files/{job['outputs'][0]['id']}/content").content
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
    assert len(names) == DOCX_PAGES and all(name.endswith(".jpg") for name in names), names


def test_an_option_out_of_range_is_caught_before_sending(
    page: Page, dev_server: Server, samples: Samples
) -> None:
    page.goto(dev_server.url)
    choose_files(page, [samples.pdfs[0]])
    page.get_by_role("radio", name="JPG", exact=True).check()
    convert = page.get_by_role("button", name="Convert", exact=True)
    expect(convert).to_be_enabled()

    page.get_by_label("dpi", exact=True).fill("5")
    expect(convert).to_be_disabled()
    summary = page.locator("#plan-problems")
    expect(summary).to_contain_text("dpi:")
    summary.get_by_role("link").click()
    expect(page.get_by_label("dpi", exact=True)).to_be_focused()
    page.get_by_label("dpi", exact=True).fill("72")
    expect(convert).to_be_enabled()
    expect(summary).to_be_empty()


def test_a_waypoint_with_no_route_shows_the_refusal(page: Page, dev_server: Server, samples: Samples) -> None:
    page.goto(dev_server.url)
    choose_files(page, [samples.pdfs[0]])
    page.get_by_role("radio", name="DOCX", exact=True).check()
    page.get_by_label("Go through (optional)").select_option("mp4")
    expect(page.locator("#route-view")).to_contain_text("NO_ROUTE")
    expect(page.get_by_role("button", name="Convert", exact=True)).to_be_disabled()
    expect(page.locator("#plan-status")).to_have_text(re.compile("no route", re.IGNORECASE))


def test_a_merge_step_makes_one_job_of_all_the_files(
    page: Page, dev_server: Server, samples: Samples
) -> None:
    page.goto(dev_server.url)
    choose_files(page, list(samples.pdfs))
    expect(page.get_by_role("list", name="Chosen files").get_by_role("listitem")).to_have_count(2)
    page.get_by_role("radio", name="Keep PDF").check()
    status = page.locator("#plan-status")
    expect(status).to_have_text("Add a step, or choose another target.")

    page.get_by_label("Step to add").select_option("merge")
    page.get_by_role("button", name="Add the step").click()
    expect(page.get_by_role("group", name="Step 1: merge")).to_be_visible()
    expect(status).to_have_text("2 files, one job.")
    page.get_by_role("button", name="Remove (merge)").click()
    expect(status).to_have_text("Add a step, or choose another target.")
