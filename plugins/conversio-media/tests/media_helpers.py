"""Helpers for conversio-media's tests: make samples with ffmpeg's lavfi sources, probe outputs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import psutil

import conversio


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly (test set-up only: the code under test builds its own commands)."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def make_video(
    path: Path,
    seconds: float = 2.0,
    size: str = "320x240",
    rate: int = 25,
    audio: bool = True,
    codec: tuple[str, ...] = ("-c:v", "libx264", "-preset", "ultrafast"),
    audio_codec: tuple[str, ...] = ("-c:a", "aac"),
) -> Path:
    """A testsrc2 clip with a 440 Hz sine (or without audio)."""
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
    ffmpeg(
        *inputs, *codec, "-pix_fmt", "yuv420p", *(audio_codec if audio else ()), "-t", str(seconds), str(path)
    )
    return path


def make_audio(path: Path, seconds: float = 1.0, codec: tuple[str, ...] = (), channels: int = 2) -> Path:
    """A sine tone (440 Hz left, 660 Hz right when stereo) in the format of ``path``'s extension."""
    graph = f"sine=frequency=440:sample_rate=48000:duration={seconds}"
    if channels == 2:
        graph = (
            f"sine=frequency=440:sample_rate=48000:duration={seconds}[l];"
            f"sine=frequency=660:sample_rate=48000:duration={seconds}[r];[l][r]amerge=inputs=2"
        )
    ffmpeg("-f", "lavfi", "-i", graph, *codec, str(path))
    return path


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's description of ``path`` (format and streams, frame counts included)."""
    done = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_frames",
            "-show_entries",
            "format=format_name,duration:stream=codec_type,codec_name,width,height,nb_read_frames,"
            "sample_rate,channels,avg_frame_rate,duration",
            "-of",
            "json",
            str(path),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def streams(path: Path, kind: str) -> list[dict[str, Any]]:
    return [s for s in probe(path)["streams"] if s["codec_type"] == kind]


def duration(path: Path) -> float:
    return float(probe(path)["format"]["duration"])


def played(path: Path) -> float:
    """Seconds of media ffmpeg decodes from ``path`` (the longest stream): what a player plays,
    whatever the container claims (encoder delay and priming samples removed)."""
    done = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-", "-progress", "pipe:1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    times = [line.split("=", 1)[1] for line in done.stdout.splitlines() if line.startswith("out_time_us=")]
    return int(times[-1]) / 1e6


def ffmpeg_processes() -> list[psutil.Process]:
    """Every running ffmpeg or ffprobe process of this user (zombies excluded)."""
    found = []
    for process in psutil.process_iter(["name", "status"]):
        if process.info["name"] in ("ffmpeg", "ffprobe") and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


def convert(app: conversio.Conversio, path: Path, to: str, folder: Path, **options: Any) -> Path:
    """Convert ``path`` to ``to`` into ``folder`` (the transcode operation when it already is ``to``)."""
    if app.sniff(path).format == to:
        conversion = app.convert(path).then("transcode", **options)
    else:
        conversion = app.convert(path, to=to, options=options)
    [out] = conversion.save(folder / f"out.{to}")
    return out
