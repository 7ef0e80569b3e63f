"""Hostile input: playlists and files that embed them cannot make ffmpeg read local files or the network.

Every payload points at three canaries: /etc/passwd, a FIFO whose opening for reading
this test would notice at once (a reader blocks until a writer comes, and the watcher
is that writer), and an HTTP server (plus a UDP socket on the same port, for SDP's RTP)
on 127.0.0.1. After each conversion: the FIFO was never opened, the servers got nothing.
"""

from __future__ import annotations

import http.server
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from conversio_media.catalogue import FORMATS
from media_helpers import ffmpeg, probe

import conversio
from conversio.errors import ConversioError

SECRET = b"root:x:0:0"


@attrs.define
class Canaries:
    fifo: Path
    port: int
    http_requests: list[str] = attrs.field(factory=list)
    udp_packets: int = 0
    fifo_opened: int = 0

    @property
    def urls(self) -> list[str]:
        return [f"file:{self.fifo}", f"http://127.0.0.1:{self.port}/secret.ts", "/etc/passwd"]

    def untouched(self) -> bool:
        return not self.http_requests and self.udp_packets == 0 and self.fifo_opened == 0


@pytest.fixture
def canaries(tmp_path: Path) -> Iterator[Canaries]:
    fifo = tmp_path / "canary.fifo"
    os.mkfifo(fifo)
    found: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 0.2
    port = server.server_address[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    udp.settimeout(0.1)
    state = Canaries(fifo, port, found)
    done = threading.Event()

    def watch_fifo() -> None:
        while not done.is_set():
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only if someone reads it
            except OSError:
                done.wait(0.01)
                continue
            state.fifo_opened += 1
            os.close(fd)

    def watch_udp() -> None:
        while not done.is_set():
            try:
                udp.recv(2048)
                state.udp_packets += 1
            except OSError:
                continue

    threads = [
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True),
        threading.Thread(target=watch_fifo, daemon=True),
        threading.Thread(target=watch_udp, daemon=True),
    ]
    for thread in threads:
        thread.start()
    yield state
    done.set()
    server.shutdown()
    server.server_close()
    for thread in threads:
        thread.join(timeout=5)
    udp.close()


def hls(urls: list[str]) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-TARGETDURATION:10"]
    for url in urls:
        lines += ["#EXTINF:10.0,", url]
    return ("\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n").encode()


def concat(urls: list[str]) -> bytes:
    return ("ffconcat version 1.0\n" + "".join(f"file '{url}'\n" for url in urls)).encode()


def sdp(port: int) -> bytes:
    return (
        "v=0\no=- 0 0 IN IP4 127.0.0.1\ns=canary\nc=IN IP4 127.0.0.1\nt=0 0\n"
        f"m=video {port} RTP/AVP 96\na=rtpmap:96 H264/90000\n"
    ).encode()


def _chunk(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, *chunks: bytes) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


_STRH = "<4s4sIHHIIIIIIIIhhhh"  # type, handler, flags, priority, language, ..., the frame rectangle


def avi_with_playlist(playlist: bytes, jpeg: bytes | None) -> bytes:
    """An AVI whose GAB2 subtitle stream holds ``playlist``, after one MJPEG frame (if ``jpeg``).

    The AVI demuxer hands a GAB2 subtitle to whatever demuxer probes it best: an HLS
    playlist there is the known "AVI with a playlist" trick.
    """
    width, height = 64, 48
    title = "x".encode("utf-16-le") + b"\0\0"
    gab2 = b"GAB2\0" + struct.pack("<HI", 2, len(title)) + title
    gab2 += struct.pack("<HI", 4, len(playlist)) + playlist
    txts = struct.pack(_STRH, b"txts", b"\0\0\0\0", 0, 0, 0, 0, 1, 25, 0, 1, 0, 0, 0, 0, 0, 0, 0)
    streams = [_list(b"strl", _chunk(b"strh", txts), _chunk(b"strf", b""))]
    packets = [(b"00tx", gab2)]
    if jpeg is not None:
        vids = struct.pack(
            _STRH, b"vids", b"MJPG", 0, 0, 0, 0, 1, 25, 0, 1, len(jpeg), 0, 0, 0, 0, width, height
        )
        bih = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
        streams.insert(0, _list(b"strl", _chunk(b"strh", vids), _chunk(b"strf", bih)))
        packets = [(b"00dc", jpeg), (b"01tx", gab2)]
    avih = struct.pack("<14I", 40000, 0, 0, 0x10, 1, 0, len(streams), 0, width, height, 0, 0, 0, 0)
    header = _list(b"hdrl", _chunk(b"avih", avih), *streams)
    movi_data = index = b""
    for fourcc, data in packets:
        index += struct.pack("<4sIII", fourcc, 0x10, 4 + len(movi_data), len(data))
        movi_data += _chunk(fourcc, data)
    body = b"AVI " + header + _chunk(b"LIST", b"movi" + movi_data) + _chunk(b"idx1", index)
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("jpeg") / "frame.jpg"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", "-pix_fmt", "yuvj420p", str(path))
    return path.read_bytes()


PLAYLISTS = {"hls.m3u8": hls, "list.ffconcat": concat}


@pytest.mark.parametrize("name", sorted(PLAYLISTS))
@pytest.mark.parametrize(
    ("fmt", "converter"),
    [("mp4", "media.ffmpeg:mp4->webm"), ("mkv", "media.ffmpeg:mkv->mp4"), ("mp3", "media.ffmpeg:mp3->wav")],
)
def test_playlists_stored_as_media_are_corrupt(
    app: conversio.Conversio, canaries: Canaries, tmp_path: Path, name: str, fmt: str, converter: str
) -> None:
    path = tmp_path / name
    path.write_bytes(PLAYLISTS[name](canaries.urls))
    artifact = app.store.put_file(path, name=path.name, format=fmt)  # a lying format, on purpose
    with pytest.raises(ConversioError) as info:
        app.engine.run_converter(converter, [artifact])
    assert info.value.code == "CORRUPT_FILE"
    assert canaries.untouched()


@pytest.mark.parametrize("name", ["hls.m3u8", "list.ffconcat", "stream.sdp"])
def test_playlists_are_not_media(
    app: conversio.Conversio, canaries: Canaries, tmp_path: Path, name: str
) -> None:
    """Sniffed as text (or as a playlist), a playlist has no route to a video; run as one anyway,
    it is not a format we read."""
    path = tmp_path / name
    path.write_bytes(sdp(canaries.port) if name.endswith(".sdp") else PLAYLISTS[name](canaries.urls))
    assert app.sniff(path).format not in FORMATS
    with pytest.raises(ConversioError) as info:
        app.convert(path, to="mp4").run()
    assert info.value.code == "NO_ROUTE"
    artifact = app.store.put_file(path, name=path.name, format="txt")
    with pytest.raises(ConversioError) as info:
        app.engine.run_converter("media.ffmpeg:mp4->mkv", [artifact])
    assert info.value.code == "UNSUPPORTED_FORMAT"
    artifact = app.store.put_file(path, name=path.name, format="mp4")
    with pytest.raises(ConversioError) as info:
        app.engine.run_converter("media.ffmpeg:mp4->mkv", [artifact])
    assert info.value.code == "CORRUPT_FILE"
    assert canaries.untouched()


@pytest.mark.parametrize("target", ["mp4", "jpg", "mkv"])
def test_avi_embedding_a_playlist_reads_nothing_else(
    app: conversio.Conversio, canaries: Canaries, tmp_path: Path, jpeg: bytes, target: str
) -> None:
    path = tmp_path / "trick.avi"
    path.write_bytes(avi_with_playlist(hls(canaries.urls), jpeg))
    assert app.sniff(path).format == "avi"
    [out] = app.convert(path, to=target, options={"preset": "ultrafast"} if target != "jpg" else {}).save(
        tmp_path / f"out.{target}"
    )
    assert [s["codec_type"] for s in probe(out)["streams"]] == ["video"]  # the subtitle stream is gone
    assert SECRET not in out.read_bytes()
    assert canaries.untouched()


def test_avi_holding_only_a_playlist_is_corrupt(
    app: conversio.Conversio, canaries: Canaries, tmp_path: Path
) -> None:
    path = tmp_path / "only-playlist.avi"
    path.write_bytes(avi_with_playlist(hls(canaries.urls), None))
    assert app.sniff(path).format == "avi"
    for target in ("mp4", "mp3", "jpg"):
        with pytest.raises(ConversioError) as info:
            app.convert(path, to=target).run()
        assert info.value.code == "CORRUPT_FILE", target
    assert canaries.untouched()


def test_the_canaries_notice_an_unrestricted_ffmpeg(canaries: Canaries, tmp_path: Path) -> None:
    """Without the sandbox, ffmpeg follows these playlists: so the tests above can fail."""
    listing, playlist = tmp_path / "list.ffconcat", tmp_path / "hls.m3u8"
    listing.write_bytes(concat(canaries.urls))
    playlist.write_bytes(hls([canaries.urls[1]]))  # Debian's ffmpeg refuses /etc/passwd in HLS itself
    loose = ["ffmpeg", "-nostdin", "-v", "quiet", "-protocol_whitelist", "file,http,tcp"]
    subprocess.run(
        [*loose, "-f", "concat", "-safe", "0", "-i", str(listing), "-f", "null", "-"], timeout=30, check=False
    )
    subprocess.run([*loose, "-i", str(playlist), "-f", "null", "-"], timeout=30, check=False)
    assert canaries.fifo_opened >= 1
    assert canaries.http_requests == ["/secret.ts"]
