"""ConvertAPI wire compatibility: the official ``convertapi`` client against a real server on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import json
import shutil
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import convertapi  # type: ignore[import-untyped]
import httpx
import pikepdf
import pytest
from conftest import LiveServer, start_server
from conversio_server.convertapi.params import from_json, from_pairs
from conversio_server.convertapi.routes import disposition_filename
from conversio_server.settings import ServerSettings
from PIL import Image

OFFICE_TESTS = Path(__file__).resolve().parents[2] / "conversio-office" / "tests"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = ServerSettings.load(
        environ={},
        dev=True,
        data_dir=tmp_path_factory.mktemp("convertapi-server"),
        workers=2,
        sweep_interval=3600.0,
        max_upload_bytes=5_000_000,
    )
    running = start_server(settings)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(live: LiveServer) -> Iterator[str]:
    """The official client pointed at the server (any key: development mode)."""
    saved = convertapi.base_uri, convertapi.api_credentials
    convertapi.base_uri = f"{live.url}/"
    convertapi.api_credentials = "dev-key"
    yield live.url
    convertapi.base_uri, convertapi.api_credentials = saved


@pytest.fixture(scope="module")
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=120) as client:
        yield client


def jpeg(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> Path:
    Image.new("RGB", size, colour).save(path, "JPEG", quality=90)
    return path


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def three_page_pdf(path: Path) -> Path:
    pages = [Image.new("RGB", (144, 72 + 36 * i), (40 * i, 90, 160)) for i in range(3)]
    pages[0].save(path, "PDF", resolution=72, save_all=True, append_images=pages[1:])
    return path


def upload(http: httpx.Client, content: bytes, name: str) -> dict[str, Any]:
    response = http.post(
        "/upload", content=content, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def assert_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    assert set(data) == {"Code", "Message", "InvalidParameters"}
    assert data["Code"] == code and data["Message"]
    return data


# -- the official client, end to end ---------------------------------------------------------------


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_docx_to_pdf(api: str, tmp_path: Path) -> None:
    sys.path.insert(0, str(OFFICE_TESTS))
    try:
        from office_samples import write_docx  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(OFFICE_TESTS))
    docx = write_docx(tmp_path / "report.docx", ["first page", "second page"])

    result = convertapi.convert("pdf", {"File": str(docx)})

    assert result.conversion_cost == 1
    assert result.file.filename == "report.pdf"
    saved = Path(result.file.save(str(tmp_path)))
    with pikepdf.open(saved) as pdf:
        assert len(pdf.pages) == 2


def test_pdf_to_jpg_stored_then_zip_by_url(api: str, tmp_path: Path) -> None:
    pdf = three_page_pdf(tmp_path / "pages.pdf")

    pages = convertapi.convert("jpg", {"File": str(pdf), "ImageResolution": "72"})

    assert len(pages.files) == 3
    for info in pages.response["Files"]:
        assert info["Url"].startswith(f"{api}/d/{info['FileId']}/")
        assert info["FileExt"] == "jpg"
    # the results' URLs are this server's: used directly (the outbound client may not reach loopback)
    archive = convertapi.convert("zip", {"Files": pages.files})

    saved = Path(archive.file.save(str(tmp_path / "pages.zip")))
    with zipfile.ZipFile(saved) as zf:
        members = zf.namelist()
        assert len(members) == 3
        sizes = []
        for member in members:
            with Image.open(io.BytesIO(zf.read(member))) as image:
                image.load()
                assert image.format == "JPEG"
                sizes.append(image.size)
    assert sorted(sizes) == [(144, 72), (144, 108), (144, 144)]


def test_jpg_to_pdf_then_merge_then_encrypt(api: str, tmp_path: Path) -> None:
    wide = jpeg(tmp_path / "b-wide.jpg", (200, 100), (200, 40, 40))
    tall = jpeg(tmp_path / "a-tall.jpg", (100, 200), (40, 200, 40))
    pdfs = [convertapi.convert("pdf", {"File": str(path)}) for path in (wide, tall)]

    merged = convertapi.convert("merge", {"Files": pdfs})
    locked = convertapi.convert("encrypt", {"File": merged, "PdfUserPasswordNew": "s3cret"})

    saved = Path(locked.file.save(str(tmp_path / "locked.pdf")))
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(saved)
    with pikepdf.open(saved, password="s3cret") as pdf:
        assert pdf.is_encrypted
        assert len(pdf.pages) == 2
        first = [float(v) for v in pdf.pages[0].mediabox]
        assert first[2] - first[0] > first[3] - first[1]  # the order given (wide first), not by name


def test_user(api: str) -> None:
    info = convertapi.user()
    assert info["Active"] is True
    assert isinstance(info["ConversionsTotal"], int) and isinstance(info["ConversionsConsumed"], int)


def test_official_client_sees_api_errors(api: str, tmp_path: Path) -> None:
    with pytest.raises(convertapi.ApiError) as caught:
        convertapi.convert("nosuchformat", {"File": str(jpeg(tmp_path / "x.jpg", (8, 8), (0, 0, 0)))})
    assert caught.value.code == 4041


# -- the wire, request by request -----------------------------------------------------------------


def test_store_false_answers_file_data(http: httpx.Client) -> None:
    file_id = upload(http, png_bytes(), "tile.png")["FileId"]

    response = http.post("/convert/png/to/jpg", data={"File": file_id, "JpgQuality": "50"})

    assert response.status_code == 200, response.text
    (info,) = response.json()["Files"]
    assert "Url" not in info and "FileId" not in info
    assert info["FileName"] == "tile.jpg" and info["FileExt"] == "jpg"
    content = base64.b64decode(info["FileData"])
    assert len(content) == info["FileSize"]
    with Image.open(io.BytesIO(content)) as image:
        assert image.format == "JPEG" and image.size == (40, 30)


def test_json_parameters_with_base64_and_url_chaining(http: httpx.Client, live: LiveServer) -> None:
    data = base64.b64encode(png_bytes((30, 20))).decode()
    body = {
        "Parameters": [
            {"Name": "File", "FileValue": {"Name": "logo.png", "Data": data}},
            {"Name": "StoreFile", "Value": True},
            {"Name": "FileName", "Value": "renamed"},
        ]
    }
    first = http.post("/convert/any/to/jpg", json=body)
    assert first.status_code == 200, first.text
    (stored,) = first.json()["Files"]
    assert stored["FileName"] == "renamed.jpg" and stored["Url"].startswith(f"{live.url}/d/")

    chained = http.post(
        "/convert/jpg/to/zip",
        json={
            "Parameters": [
                {"Name": "Files", "FileValues": [{"Url": stored["Url"]}, {"Id": stored["FileId"]}]},
                {"Name": "StoreFile", "Value": True},
            ]
        },
    )

    assert chained.status_code == 200, chained.text
    (archive,) = chained.json()["Files"]
    download = http.get(archive["Url"])
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        assert len(zf.namelist()) == 2


def test_multipart_file_part(http: httpx.Client) -> None:
    response = http.post(
        "/convert/png/to/jpg",
        files={"File": ("photo.png", png_bytes((16, 12)), "image/png")},
        data={"StoreFile": "true"},
    )

    assert response.status_code == 200, response.text
    (info,) = response.json()["Files"]
    content = http.get(info["Url"]).content
    with Image.open(io.BytesIO(content)) as image:
        assert image.format == "JPEG" and image.size == (16, 12)


def test_upload_takes_the_rfc5987_name(http: httpx.Client) -> None:
    response = http.post(
        "/upload",
        content=png_bytes(),
        headers={"Content-Disposition": "attachment; filename*=UTF-8''%CE%A9mega%20r%C3%A9sum%C3%A9.png"},
    )

    assert response.status_code == 200, response.text
    data = response.json()
    assert data["FileName"] == "Ωmega résumé.png" and data["FileExt"] == "png" and data["FileId"]


def test_download_and_delete(http: httpx.Client) -> None:
    content = png_bytes((9, 9))
    file_id = upload(http, content, "nine.png")["FileId"]

    download = http.get(f"/d/{file_id}/nine.png")
    assert download.status_code == 200 and download.content == content
    assert "nine.png" in download.headers["content-disposition"]
    by_url = http.post("/upload", params={"url": str(download.url)})  # a link of this server: no fetch
    assert by_url.status_code == 200 and by_url.json()["FileId"] == file_id

    assert http.delete(f"/d/{file_id}").status_code == 200
    assert_error(http.get(f"/d/{file_id}/nine.png"), 404, 4040)
    assert_error(http.delete(f"/d/{file_id}"), 404, 4040)


def test_unknown_format_pair(http: httpx.Client) -> None:
    data = assert_error(http.post("/convert/xyz/to/abc", data={"File": "whatever"}), 404, 4041)
    assert "xyz/to/abc" in data["Message"]


def test_missing_file_id(http: httpx.Client) -> None:
    data = assert_error(http.post("/convert/png/to/jpg", data={"File": "no-such-file-id-0000"}), 404, 4040)
    assert list(data["InvalidParameters"]) == ["File"]


def test_no_file(http: httpx.Client) -> None:
    data = assert_error(http.post("/convert/png/to/jpg", data={"StoreFile": "true"}), 400, 4000)
    assert "File" in data["InvalidParameters"]


def test_invalid_values_name_their_parameters(http: httpx.Client) -> None:
    file_id = upload(http, png_bytes(), "tile.png")["FileId"]

    response = http.post("/convert/png/to/jpg", data={"File": file_id, "JpgQuality": "best", "Bogus": "1"})

    data = assert_error(response, 400, 4001)
    assert list(data["InvalidParameters"]) == ["JpgQuality"]  # unknown parameters are ignored
    assert_error(http.post("/convert/png/to/jpg", data={"File": file_id, "StoreFile": "maybe"}), 400, 4000)


def test_operation_errors_name_the_convertapi_parameter(http: httpx.Client, tmp_path: Path) -> None:
    pdf = three_page_pdf(tmp_path / "doc.pdf").read_bytes()
    file_id = upload(http, pdf, "doc.pdf")["FileId"]

    data = assert_error(http.post("/convert/pdf/to/encrypt", data={"File": file_id}), 400, 4001)
    assert list(data["InvalidParameters"]) == ["PdfUserPasswordNew"]

    split = http.post("/convert/pdf/to/split", data={"File": file_id, "StoreFile": "true"})
    assert split.status_code == 200, split.text
    assert [f["FileExt"] for f in split.json()["Files"]] == ["pdf"] * 3


@pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript is not installed")
def test_pdf_to_pdfa_takes_the_pdfa_version(http: httpx.Client, tmp_path: Path) -> None:
    file_id = upload(http, three_page_pdf(tmp_path / "doc.pdf").read_bytes(), "doc.pdf")["FileId"]

    answer = http.post(
        "/convert/pdf/to/pdfa", data={"File": file_id, "PdfaVersion": "pdfa3b", "StoreFile": "false"}
    )

    assert answer.status_code == 200, answer.text
    [result] = answer.json()["Files"]
    with pikepdf.open(io.BytesIO(base64.b64decode(result["FileData"]))) as pdf, pdf.open_metadata() as meta:
        assert (meta["pdfaid:part"], meta["pdfaid:conformance"]) == ("3", "B")
        assert len(pdf.pages) == 3 and "/OutputIntents" in pdf.Root
    bad = http.post("/convert/pdf/to/pdfa", data={"File": file_id, "PdfaVersion": "pdfa4f"})
    assert list(assert_error(bad, 400, 4001)["InvalidParameters"]) == ["PdfaVersion"]


def test_secret_in_query_is_accepted(http: httpx.Client) -> None:
    response = http.get("/user", params={"Secret": "anything"})
    assert response.status_code == 200 and response.json()["Active"] is True


def test_url_inputs_elsewhere_go_through_the_outbound_client(http: httpx.Client) -> None:
    # loopback is private: only this server's own links are taken, and without a download
    response = http.post(
        "/convert/any/to/jpg", data={"File": "http://127.0.0.1:9/d/abcdefabcdefabcdef/x.png"}
    )

    data = assert_error(response, 400, 4000)
    assert list(data["InvalidParameters"]) == ["File"]
    assert "may not be fetched" in data["Message"]


def test_other_file_parameters_are_refused(http: httpx.Client) -> None:
    file_id = upload(http, png_bytes(), "tile.png")["FileId"]
    response = http.post("/convert/png/to/jpg", data={"File": file_id, "OverlayFile": file_id})
    assert list(assert_error(response, 400, 4000)["InvalidParameters"]) == ["OverlayFile"]


# -- with API keys ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    from conversio_server.keys import KeyStore

    settings = ServerSettings.load(
        environ={}, data_dir=tmp_path_factory.mktemp("convertapi-keys"), workers=1, sweep_interval=3600.0
    )
    with KeyStore(settings.database_url) as keys:
        _, secret = keys.create("convertapi-tests", "convert,read", "starter")
    running = start_server(settings)
    yield running, secret
    running.stop()


def test_keys_bearer_secret_and_token(keyed: tuple[LiveServer, str]) -> None:
    running, secret = keyed
    with httpx.Client(base_url=running.url, timeout=60) as http:
        assert_error(http.get("/user"), 401, 4010)
        assert_error(http.get("/user", params={"Secret": "wrong"}), 401, 4010)
        assert_error(http.get("/user", headers={"Authorization": "Bearer wrong"}), 401, 4010)
        for params, headers in (
            ({"Secret": secret}, {}),
            ({"Token": secret}, {}),
            ({}, {"Authorization": f"Bearer {secret}"}),
        ):
            response = http.get("/user", params=params, headers=headers)
            assert response.status_code == 200, response.text
            info = response.json()
            assert info["Active"] is True and info["ConversionsTotal"] == 1000

        stored = http.post(
            "/convert/png/to/jpg",
            params={"Secret": secret},
            files={"File": ("tile.png", png_bytes(), "image/png")},
            data={"StoreFile": "true"},
        )
        assert stored.status_code == 200, stored.text
        (info,) = stored.json()["Files"]
        assert http.get(info["Url"]).status_code == 200  # a signed link needs no key
        assert_error(http.get(f"/d/{info['FileId']}/tile.jpg"), 401, 4010)
        assert http.get(f"/d/{info['FileId']}/tile.jpg", params={"Secret": secret}).status_code == 200
        assert http.get("/user", params={"Secret": secret}).json()["ConversionsConsumed"] >= 1


# -- parsing ----------------------------------------------------------------------------------------


def test_indexed_files_keep_their_order() -> None:
    params = from_pairs([("Files[1]", "id-b"), ("Files[0]", "https://x.test/a.pdf"), ("storefile", "True")])
    refs = params.files("files")
    assert [r.url or r.id for r in refs] == ["https://x.test/a.pdf", "id-b"]
    assert params.flag("StoreFile", default=False) is True


def test_json_parameters_shapes() -> None:
    body = {
        "Parameters": [
            {"Name": "File", "FileValue": {"Id": "abc"}},
            {"Name": "PageRange", "Value": "1-2"},
            {"Name": "Files", "FileValues": [{"Url": "https://x.test/a"}, {"Name": "b.png", "Data": "AA=="}]},
        ]
    }
    params = from_json(json.dumps(body).encode())
    assert params.files("File")[0].id == "abc"
    assert params.text("pagerange") == "1-2"
    assert [(r.url, r.name) for r in params.files("Files")] == [("https://x.test/a", None), (None, "b.png")]


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("attachment; filename*=UTF-8''na%C3%AFve%20file.pdf", "naïve file.pdf"),
        ('attachment; filename="plain.pdf"', "plain.pdf"),
        ("attachment; filename=\"fallback.pdf\"; filename*=UTF-8''%E2%82%AC.pdf", "€.pdf"),
        ("attachment; filename*=UTF-8'en'%C3%A9t%C3%A9.txt", "été.txt"),
        ("attachment; filename*=NOPE''%FF.txt; filename=ok.txt", "ok.txt"),
        ("attachment; filename*=UTF-8''%FF%FE.txt", None),
        ("attachment", None),
        ("", None),
    ],
)
def test_disposition_filename(header: str, name: str | None) -> None:
    assert disposition_filename(header) == name
