"""The History page: the key's jobs and stored files, a file deleted with the keyboard through its
confirmation dialog, no SVG of a user's inline, empty states and "Show more"."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from web_pages import sign_in
from web_samples import Samples
from web_support import Server

#: An SVG that would run a script if the page showed it inline.
HOSTILE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>document.title="owned"</script></svg>'
#: Items a History list shows before "Show more" (the page's PAGE).
FIRST_PAGE = 20


def _new_key(server: Server) -> str:
    """A second key of ``server``, made with `conversio keys create` as an administrator would."""
    conversio = str(Path(sys.executable).with_name("conversio"))
    command = [conversio, "keys", "create", "--name", "history-tests", "--tier", "enterprise"]
    made = subprocess.run(
        [*command, "--data-dir", str(server.data_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(json.loads(made.stdout)["key"])


def _wait_finished(client: httpx.Client, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{job_id}").json()["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, "the job did not finish in 60 s"
        time.sleep(0.3)


def test_history_shows_jobs_and_files_and_deletes_a_file_by_keyboard(
    page: Page, server: Server, samples: Samples
) -> None:
    assert server.key
    with server.client() as client:
        picture = client.post("/v1/files", files={"file": ("holiday.png", samples.png.read_bytes())}).json()
        drawing = client.post("/v1/files", files={"file": ("drawing.svg", HOSTILE_SVG)}).json()
        picture, drawing = picture["files"][0], drawing["files"][0]
        job = client.post(
            "/v1/jobs",
            json={"inputs": [{"fileId": picture["id"]}], "outputFormat": "pdf", "tag": "holiday album"},
        ).json()
        _wait_finished(client, job["jobId"])
    sign_in(page, server.url, server.key)
    page.goto(f"{server.url}/history")

    card = page.get_by_role("list", name="Recent jobs").get_by_role("article", name="holiday album")
    expect(card.locator(".job-status")).to_contain_text("1 file.")
    expect(card.get_by_role("link", name="Download holiday.pdf")).to_be_visible()
    expect(card.get_by_role("button", name="Preview of holiday.pdf")).to_be_visible()

    files = page.get_by_role("list", name="Stored files")
    svg_row = files.get_by_role("listitem").filter(has_text="drawing.svg")
    expect(svg_row).to_contain_text("No preview: SVG and HTML files are not shown in the page.")
    expect(svg_row).to_contain_text("expires in")
    assert page.locator("main svg, main iframe, main object, main embed").count() == 0
    assert page.title() != "owned"

    delete = svg_row.get_by_role("button", name="Delete drawing.svg")
    delete.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete this file?")
    expect(dialog).to_contain_text("drawing.svg will be deleted")
    expect(dialog.get_by_role("button", name="Keep it")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    with server.client() as client:
        assert client.get(f"/v1/files/{drawing['id']}").status_code == 200

    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="Delete")).to_be_focused()
    page.keyboard.press("Enter")
    expect(svg_row).to_have_count(0)
    expect(page.locator("#announcer")).to_have_text("drawing.svg is deleted.")
    with server.client() as client:
        assert client.get(f"/v1/files/{drawing['id']}").status_code == 404
        assert client.get(f"/v1/files/{picture['id']}").status_code == 200


def test_history_of_a_new_key_is_empty_then_shows_more(page: Page, server: Server) -> None:
    key = _new_key(server)
    sign_in(page, server.url, key)
    page.goto(f"{server.url}/history")
    expect(page.get_by_text("No jobs yet.")).to_be_visible()
    expect(page.get_by_text("No stored files.")).to_be_visible()

    names = [f"note-{n:02d}.txt" for n in range(FIRST_PAGE + 1)]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        for name in names:
            client.post("/v1/files", files={"file": (name, f"{name}\n".encode())}).raise_for_status()
    page.reload()
    rows = page.get_by_role("list", name="Stored files").get_by_role("listitem")
    expect(rows).to_have_count(FIRST_PAGE)
    expect(page.get_by_text("No stored files.")).to_be_hidden()
    more = page.get_by_role("button", name="Show more files")
    more.click()
    expect(rows).to_have_count(FIRST_PAGE + 1)
    expect(more).to_be_hidden()
    expect(rows.last.get_by_role("link", name=f"Download {names[0]}")).to_be_focused()
    shown = rows.locator(".file-name").all_inner_texts()
    assert sorted(shown) == names, "each file once"
