"""The official Gotenberg client (``gotenberg-client`` on PyPI) against a real server on 127.0.0.1:
the PDF engine routes and fields, the routes and fields conversio refuses, health and version, the
trace and output filename headers, the asynchronous client, webhooks delivered to a receiver on
127.0.0.1, and basic auth carrying a conversio API key.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any, Literal

import pikepdf
import pytest
from conftest import LiveServer, dev_settings, start_server
from gotenberg_client import AsyncGotenbergClient, GotenbergClient, SingleFileResponse
from gotenberg_client.options import DownloadFromUrl, PdfAFormat, RotateAngle, WatermarkStampSource
from gotenberg_inputs import PAGE, TIMEOUT, page_texts, pages_html, pdfa_report, refused, zip_members
from gotenberg_web import DOWNLOADS, WebHost

pytest_plugins = ("gotenberg_fixtures",)


Build = Callable[[GotenbergClient, Path], Any]


# -- PDF engines ---------------------------------------------------------------------------------------


def test_merge_keeps_the_given_order(gotenberg: GotenbergClient, inputs: Path) -> None:
    order = [inputs / "third.pdf", inputs / "first.pdf", inputs / "three.pdf", inputs / "second.pdf"]
    with gotenberg.merge.merge() as route:
        response = route.merge(order).run()
    assert page_texts(response.content) == [
        "third document", "first document", "alpha page", "beta page", "gamma page", "second document",
    ]  # fmt: skip


def test_a_corrupt_pdf_answers_400_without_retrying(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.merge.merge() as route:
        route.merge([inputs / "first.pdf", inputs / "broken.pdf"])
        refused(lambda: route.run_with_retry(initial_retry_wait=0.1), 400)


def test_split_by_intervals_and_by_pages(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.split.split() as route:
        response = route.split(inputs / "three.pdf").split_mode("intervals").split_span("1").run()
    members = zip_members(response.content)
    assert sorted(members) == ["three_0.pdf", "three_1.pdf", "three_2.pdf"]
    assert [page_texts(members[f"three_{n}.pdf"]) for n in range(3)] == [
        ["alpha page"],
        ["beta page"],
        ["gamma page"],
    ]
    with gotenberg.split.split() as route:
        route.split(inputs / "three.pdf").split_mode("pages").split_span("2-3").split_unify(split_unify=True)
        unified = route.run()
    assert isinstance(unified, SingleFileResponse)
    assert page_texts(unified.content) == ["beta page", "gamma page"]


def test_metadata_written(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.metadata.write() as route:
        route.write(inputs / "first.pdf").metadata(title="Ledger", author="Ada", subject="Accounts")
        response = route.run()
    with pikepdf.open(io.BytesIO(response.content)) as pdf:
        found = {key: str(pdf.docinfo[f"/{key}"]) for key in ("Title", "Author", "Subject")}
    assert found == {"Title": "Ledger", "Author": "Ada", "Subject": "Accounts"}
    assert page_texts(response.content) == ["first document"]


def test_encrypt_needs_the_password_to_open(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.encrypt.encrypt() as route:
        response = (
            route.add_file(inputs / "first.pdf").user_password("open-sesame").owner_password("owner").run()
        )
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(response.content))
    assert page_texts(response.content, password="open-sesame") == ["first document"]
    with gotenberg.encrypt.encrypt() as route:
        refused(route.add_file(inputs / "first.pdf").run, 400)  # no password at all


def test_encrypt_with_an_owner_password_only(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.encrypt.encrypt() as route:
        response = route.add_file(inputs / "first.pdf").owner_password("owner").run()
    with pikepdf.open(io.BytesIO(response.content)) as pdf:  # anyone opens it; only the owner may change it
        assert pdf.is_encrypted
    assert page_texts(response.content) == ["first document"]


def test_watermark_stamp_and_rotate(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.watermark.watermark() as route:
        route.add_file(inputs / "first.pdf").watermark_source(WatermarkStampSource.Text)
        marked = route.watermark_expression("DRAFT").run()
    assert "DRAFT" in page_texts(marked.content)[0]
    with gotenberg.stamp.stamp() as route:
        route.add_file(inputs / "first.pdf").stamp_source(WatermarkStampSource.Text)
        stamped = route.stamp_expression("APPROVED").run()
    assert "APPROVED" in page_texts(stamped.content)[0]
    with gotenberg.rotate.rotate() as route:
        turned = route.add_file(inputs / "three.pdf").rotate(RotateAngle.Clockwise90, pages="2").run()
    with pikepdf.open(io.BytesIO(turned.content)) as pdf:
        assert [int(page.obj.get("/Rotate", 0)) % 360 for page in pdf.pages] == [0, 90, 0]


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(
            lambda g, i: g.chromium.html_to_pdf().string_index(pages_html("first document")), id="chromium"
        ),
        pytest.param(lambda g, i: g.libre_office.to_pdf().convert(i / "memo.docx"), id="libreoffice"),
        pytest.param(lambda g, i: g.merge.merge().merge([i / "first.pdf"]), id="merge"),
    ],
)
def test_every_route_encrypts_rotates_and_stamps(
    gotenberg: GotenbergClient, inputs: Path, route: Build
) -> None:
    """Gotenberg applies its PDF engine fields to the result of every route."""
    with closing(route(gotenberg, inputs)) as built:
        built.user_password("open-sesame").rotate(RotateAngle.Clockwise180)
        response = built.stamp_source(WatermarkStampSource.Text).stamp_expression("APPROVED").run()
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(response.content))
    with pikepdf.open(io.BytesIO(response.content), password="open-sesame") as pdf:
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) % 360 == 180
    assert "APPROVED" in page_texts(response.content, password="open-sesame")[0]


def test_download_from_urls(gotenberg: GotenbergClient, web: WebHost, inputs: Path) -> None:
    urls = [DownloadFromUrl(url=f"{web.url}{DOWNLOADS}{name}") for name in ("second.pdf", "first.pdf")]
    with gotenberg.merge.merge() as route:
        # one upload besides: without a file the client posts a urlencoded form, which Gotenberg refuses (415)
        response = route.merge([inputs / "third.pdf"]).download_from(urls).run()
    # every file in the order of its name: 00001_third.pdf (the client numbers uploads), first, second
    assert page_texts(response.content) == ["third document", "first document", "second document"]


@pytest.mark.parametrize(
    ("flavour", "part"), [(PdfAFormat.A1b, "1"), (PdfAFormat.A2b, "2"), (PdfAFormat.A3b, "3")]
)
def test_convert_makes_pdfa_with_the_fonts_embedded(
    gotenberg: GotenbergClient, inputs: Path, flavour: PdfAFormat, part: str
) -> None:
    with gotenberg.pdf_convert.to_pdfa() as route:
        response = route.convert(inputs / "three.pdf").pdf_format(flavour).run()
    assert pdfa_report(response.content) == (part, "B", True, [])  # three.pdf names Helvetica, unembedded
    assert page_texts(response.content) == ["alpha page", "beta page", "gamma page"]


def test_merge_then_pdfa(gotenberg: GotenbergClient, inputs: Path) -> None:
    with gotenberg.merge.merge() as route:
        response = route.merge([inputs / "second.pdf", inputs / "first.pdf"]).pdf_format(PdfAFormat.A1b).run()
    assert pdfa_report(response.content) == ("1", "B", True, [])
    assert page_texts(response.content) == ["second document", "first document"]


def html_route(g: GotenbergClient) -> Any:
    return g.chromium.html_to_pdf().string_index(PAGE)


def memo_route(g: GotenbergClient, inputs: Path) -> Any:
    return g.libre_office.to_pdf().convert(inputs / "memo.docx")


#: Gotenberg's routes that conversio answers with a clear 400 (docs/reference/gotenberg.md).
REFUSED_ROUTES: dict[str, Build] = {
    "metadata/read": lambda g, i: g.metadata.read().read(i / "first.pdf"),
    "bookmarks/read": lambda g, i: g.bookmarks.read().read(i / "first.pdf"),
    "bookmarks/write": lambda g, i: g.bookmarks.write().add_file(i / "first.pdf").bookmarks([]),
    "embed": lambda g, i: g.embed.embed().add_pdf(i / "first.pdf").embed(i / "second.pdf"),
}

#: Gotenberg's fields that conversio refuses with a 400 naming them: (case, field, request).
REFUSED_FIELDS: list[tuple[str, str, Build]] = [
    ("chromium-singlePage", "singlePage", lambda g, _: html_route(g).single_page(use_single_page=True)),
    ("chromium-pdfua", "pdfua", lambda g, _: html_route(g).enable_universal_access()),
    (
        "chromium-emulatedMediaFeatures",
        "emulatedMediaFeatures",
        lambda g, _: html_route(g).emulated_media_features(
            [{"name": "prefers-color-scheme", "value": "dark"}]
        ),
    ),
    (
        "chromium-ignoreResourceHttpStatusDomains",
        "ignoreResourceHttpStatusDomains",
        lambda g, _: html_route(g).ignore_resource_status_domains(["example.com"]),
    ),
    (
        "libreoffice-skipEmptyPages",
        "skipEmptyPages",
        lambda g, i: memo_route(g, i).skip_empty_pages(skip_empty_pages=True),
    ),
    (
        "libreoffice-nativeWatermarkText",
        "nativeWatermarkText",
        lambda g, i: memo_route(g, i).native_watermark_text("X"),
    ),
    ("libreoffice-embeds", "embeds", lambda g, i: memo_route(g, i).embed(i / "first.pdf")),
    (
        "merge-pdfa-encrypted",
        "pdfa",
        lambda g, i: g.merge.merge().merge([i / "first.pdf"]).pdf_format(PdfAFormat.A2b).user_password("x"),
    ),
    (
        "convert-pdfua",
        "pdfua",
        lambda g, i: g.pdf_convert.to_pdfa().convert(i / "three.pdf").enable_universal_access(),
    ),
    (
        "merge-bookmarks",
        "bookmarks",
        lambda g, i: g.merge.merge().merge([i / "first.pdf"]).merge_bookmarks([{"title": "A", "page": 1}]),
    ),
    (
        "merge-autoIndexBookmarks",
        "autoIndexBookmarks",
        lambda g, i: g.merge.merge().merge([i / "first.pdf"]).auto_index_bookmarks(enable=True),
    ),
    (
        "metadata-creator",
        "metadata",
        lambda g, i: g.metadata.write().write(i / "first.pdf").metadata(creator="me"),
    ),
    (
        "watermark-image",
        "watermarkSource",
        lambda g, i: (
            g.watermark.watermark()
            .add_file(i / "first.pdf")
            .watermark_source(WatermarkStampSource.Image)
            .watermark_file(i / "logo.png")
        ),
    ),
]


@pytest.mark.parametrize("path", REFUSED_ROUTES)
def test_routes_conversio_refuses(gotenberg: GotenbergClient, inputs: Path, path: str) -> None:
    with closing(REFUSED_ROUTES[path](gotenberg, inputs)) as route:
        assert b"not supported" in refused(route.run, 400).lower()


@pytest.mark.parametrize(("field", "build"), [pytest.param(f, b, id=case) for case, f, b in REFUSED_FIELDS])
def test_fields_conversio_refuses(gotenberg: GotenbergClient, inputs: Path, field: str, build: Build) -> None:
    with closing(build(gotenberg, inputs)) as route:
        body = refused(route.run, 400)
    assert f"'{field}'".encode() in body and b"not supported" in body


# -- health, version, headers, the asynchronous client ---------------------------------------------------


def test_health_and_version(gotenberg: GotenbergClient) -> None:
    health = gotenberg.health.health()
    assert health.overall == "up"
    assert health.chromium is not None and health.chromium.status == "up"
    assert health.uno is not None and health.uno.status == "up"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", gotenberg.version.get())


def test_trace_and_output_filename(gotenberg: GotenbergClient, inputs: Path) -> None:
    pair = [inputs / "first.pdf", inputs / "second.pdf"]
    with gotenberg.merge.merge() as route:
        traced = route.merge(pair).trace_id("trace-1234").output_filename("../../etc/joined").run()
    assert traced.headers["Gotenberg-Trace"] == "trace-1234"
    assert traced.headers["Content-Disposition"] == 'attachment; filename="joined.pdf"'  # the last segment
    with gotenberg.merge.merge() as route:
        assert route.merge(pair).run().headers.get("Gotenberg-Trace")  # made up when the caller sends none


def test_async_client(gotenberg_server: LiveServer, inputs: Path) -> None:
    async def convert() -> tuple[str, bytes, bytes]:
        async with AsyncGotenbergClient(gotenberg_server.url, timeout=TIMEOUT, http2=False) as client:
            health = await client.health.health()
            async with client.chromium.html_to_pdf() as html, client.merge.merge() as merge:
                page, merged = await asyncio.gather(
                    html.string_index(pages_html("async page")).run(),
                    merge.merge([inputs / "second.pdf", inputs / "first.pdf"]).run(),
                )
            return health.overall, page.content, merged.content

    overall, page, merged = asyncio.run(convert())
    assert overall == "up"
    assert page_texts(page) == ["async page"]
    assert page_texts(merged) == ["second document", "first document"]


# -- webhooks ------------------------------------------------------------------------------------------


def hook(request: pytest.FixtureRequest, outcome: str) -> str:
    """The receiver's path for this test's webhook (``done``) or error webhook (``failed``)."""
    return "/" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()) + "/" + outcome


@pytest.fixture
def hooked(
    gotenberg_server: LiveServer, web: WebHost, request: pytest.FixtureRequest
) -> Iterator[GotenbergClient]:
    """A client whose requests carry webhook and error webhook URLs named after the test."""
    with GotenbergClient(gotenberg_server.url, timeout=TIMEOUT, http2=False) as client:
        client.add_webhook_url(web.url + hook(request, "done"))
        client.add_error_webhook_url(web.url + hook(request, "failed"))
        yield client


def test_webhook_delivers_the_file(
    hooked: GotenbergClient, web: WebHost, request: pytest.FixtureRequest
) -> None:
    hooked.set_webhook_extra_headers({"X-Receiver-Token": "t0k3n"})
    with hooked.chromium.html_to_pdf() as route:
        route.string_index(pages_html("delivered later")).trace_id("hook-trace").output_filename("later")
        answer = route.run()
    assert answer.status_code == 204 and not answer.content
    delivery = web.delivery(hook(request, "done"))
    assert delivery.method == "POST"
    assert delivery.headers["content-type"] == "application/pdf"
    assert delivery.headers["content-disposition"] == 'attachment; filename="later.pdf"'
    assert delivery.headers["gotenberg-trace"] == "hook-trace"
    assert delivery.headers["x-receiver-token"] == "t0k3n"
    assert page_texts(delivery.body) == ["delivered later"]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_webhook_method(
    hooked: GotenbergClient,
    web: WebHost,
    inputs: Path,
    request: pytest.FixtureRequest,
    method: Literal["PUT", "PATCH"],
) -> None:
    hooked.set_webhook_http_method(method)
    with hooked.merge.merge() as route:
        assert route.merge([inputs / "first.pdf", inputs / "second.pdf"]).run().status_code == 204
    delivery = web.delivery(hook(request, "done"))
    assert delivery.method == method
    assert page_texts(delivery.body) == ["first document", "second document"]


def test_webhook_error_url_gets_the_error(
    hooked: GotenbergClient, web: WebHost, inputs: Path, request: pytest.FixtureRequest
) -> None:
    hooked.set_error_webhook_http_method("PUT")
    with hooked.merge.merge() as route:
        route.merge([inputs / "first.pdf", inputs / "broken.pdf"]).trace_id("failing-trace")
        assert route.run().status_code == 204
    delivery = web.delivery(hook(request, "failed"))
    assert delivery.method == "PUT"
    assert delivery.headers["gotenberg-trace"] == "failing-trace"
    assert delivery.headers["content-type"].startswith("application/json")
    error = json.loads(delivery.body)
    assert error["status"] == 400 and error["message"]
    assert not [d for d in web.deliveries if d.path == hook(request, "done")]


def test_webhook_to_a_refused_address_answers_403(gotenberg_server: LiveServer, inputs: Path) -> None:
    with GotenbergClient(gotenberg_server.url, timeout=TIMEOUT, http2=False) as client:
        client.add_webhook_url("http://169.254.169.254/hook")
        client.add_error_webhook_url("http://169.254.169.254/error")
        with client.merge.merge() as route:
            refused(route.merge([inputs / "first.pdf"]).run, 403)


def test_webhook_without_error_url_answers_400(
    gotenberg_server: LiveServer, web: WebHost, inputs: Path
) -> None:
    with GotenbergClient(gotenberg_server.url, timeout=TIMEOUT, http2=False) as client:
        client.add_webhook_url(f"{web.url}/lonely/done")
        with client.merge.merge() as route:
            refused(route.merge([inputs / "first.pdf"]).run, 400)


# -- basic auth with a conversio API key ----------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A server that needs keys, and the secret of one key."""
    from conversio_server.keys import KeyStore

    settings = dev_settings(tmp_path_factory.mktemp("gotenberg-keys"), dev=False, workers=1)
    with KeyStore(settings.database_url) as keys:
        _, secret = keys.create("gotenberg-tests", "convert,read", "starter")
    running = start_server(settings)
    yield running, secret
    running.stop()


def test_basic_auth_with_an_api_key(keyed: tuple[LiveServer, str], inputs: Path) -> None:
    running, secret = keyed
    pair = [inputs / "first.pdf", inputs / "second.pdf"]
    with GotenbergClient(running.url, auth=("gotenberg", secret), timeout=TIMEOUT, http2=False) as client:
        assert client.version.get()
        with client.merge.merge() as route:
            assert len(page_texts(route.merge(pair).run().content)) == 2
    with GotenbergClient(running.url, timeout=TIMEOUT, http2=False) as bearer:
        bearer.add_headers({"Authorization": f"Bearer {secret}"})
        assert bearer.version.get()
    with GotenbergClient(running.url, auth=("gotenberg", "wrong"), timeout=TIMEOUT, http2=False) as wrong:
        refused(wrong.version.get, 401)
        with wrong.merge.merge() as route:
            refused(route.merge(pair).run, 401)
        assert wrong.health.health().overall == "up"  # as in Gotenberg, /health needs no credentials
