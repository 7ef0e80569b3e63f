"""What ffmpeg reads and writes for each conversio format: plain data, no engine imported.

``demuxer`` is the only demuxer ffmpeg may use to read a file of that format (forced with
``-f`` and allowed with ``-format_whitelist``: nothing is probed, so a file cannot pick
its own parser, such as a playlist's). ``video_codecs`` and ``audio_codecs`` list what
conversio-media writes into that container; the first is the default.
"""

from __future__ import annotations

import attrs

VIDEO, AUDIO = "video", "audio"

INSTALL_HINT = "pip install conversio-media, and ffmpeg: apt-get install --no-install-recommends ffmpeg"


@attrs.frozen
class MediaFormat:
    """A conversio format as ffmpeg sees it."""

    name: str
    kind: str
    demuxer: str
    muxer: str
    video_codecs: tuple[str, ...] = ()
    audio_codecs: tuple[str, ...] = ()

    @property
    def lossy(self) -> bool:
        return self.name not in ("flac", "wav")


FORMATS: dict[str, MediaFormat] = {
    f.name: f
    for f in (
        MediaFormat("mp4", VIDEO, "mov", "mp4", ("h264", "hevc", "av1", "mpeg4"), ("aac", "mp3", "opus")),
        MediaFormat("mov", VIDEO, "mov", "mov", ("h264", "hevc", "prores", "mjpeg"),
                    ("aac", "pcm_s16le", "alac")),
        MediaFormat("webm", VIDEO, "matroska", "webm", ("vp9", "vp8", "av1"), ("opus", "vorbis")),
        MediaFormat("mkv", VIDEO, "matroska", "matroska", ("h264", "hevc", "vp9", "av1"),
                    ("aac", "opus", "flac", "vorbis", "mp3")),
        MediaFormat("avi", VIDEO, "avi", "avi", ("mpeg4", "mjpeg", "h264"), ("mp3", "pcm_s16le")),
        MediaFormat("gif", VIDEO, "gif", "gif", ("gif",)),
        MediaFormat("mp3", AUDIO, "mp3", "mp3", audio_codecs=("mp3",)),
        MediaFormat("wav", AUDIO, "wav", "wav", audio_codecs=("pcm_s16le", "pcm_s24le", "pcm_f32le")),
        MediaFormat("flac", AUDIO, "flac", "flac", audio_codecs=("flac",)),
        MediaFormat("ogg", AUDIO, "ogg", "ogg", audio_codecs=("vorbis",)),
        MediaFormat("opus", AUDIO, "ogg", "opus", audio_codecs=("opus",)),
        MediaFormat("m4a", AUDIO, "mov", "ipod", audio_codecs=("aac", "alac")),
    )
}  # fmt: skip

#: Video containers converted between each other (gif is handled on its own).
VIDEO_CONTAINERS: tuple[str, ...] = ("mp4", "mov", "webm", "mkv", "avi")
AUDIO_FORMATS: tuple[str, ...] = ("mp3", "m4a", "ogg", "opus", "flac", "wav")
#: Still-image targets of thumbnails and frames.
IMAGE_TARGETS: tuple[str, ...] = ("jpg", "png")

#: conversio codec name → ffmpeg encoder.
ENCODERS: dict[str, str] = {
    "h264": "libx264",
    "hevc": "libx265",
    "av1": "libsvtav1",
    "mpeg4": "mpeg4",
    "vp9": "libvpx-vp9",
    "vp8": "libvpx",
    "prores": "prores_ks",
    "mjpeg": "mjpeg",
    "gif": "gif",
    "aac": "aac",
    "mp3": "libmp3lame",
    "opus": "libopus",
    "vorbis": "libvorbis",
    "flac": "flac",
    "alac": "alac",
    "pcm_s16le": "pcm_s16le",
    "pcm_s24le": "pcm_s24le",
    "pcm_f32le": "pcm_f32le",
}

#: Codecs whose quality is set with a constant rate factor (``crf``), and its default.
CRF_DEFAULTS: dict[str, int] = {"h264": 23, "hevc": 28, "av1": 35, "vp9": 32, "vp8": 10}
#: Codecs set with a fixed quantiser (``-q:v``) unless a bitrate is given.
QSCALE_DEFAULTS: dict[str, int] = {"mpeg4": 4, "mjpeg": 3}
#: Lossless or uncompressed audio codecs: no bitrate to choose.
LOSSLESS_AUDIO = frozenset({"flac", "alac", "pcm_s16le", "pcm_s24le", "pcm_f32le"})
#: Sample rates an encoder accepts (None: any the option allows).
SAMPLE_RATES: dict[str, tuple[int, ...]] = {
    "opus": (8000, 12000, 16000, 24000, 48000),
    "mp3": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000),
    "aac": (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000),
}
#: At most this many channels per audio codec (others: 8).
MAX_CHANNELS: dict[str, int] = {"mp3": 2, "vorbis": 8, "opus": 8, "aac": 8}
#: Speed presets (x264's names); VP8/VP9 map them to a deadline and ``-cpu-used``, SVT-AV1 to a preset.
PRESETS: tuple[str, ...] = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)  # fmt: skip
VPX_SPEED: dict[str, tuple[str, int]] = {
    "ultrafast": ("realtime", 8),
    "superfast": ("realtime", 8),
    "veryfast": ("realtime", 8),
    "faster": ("realtime", 6),
    "fast": ("good", 5),
    "medium": ("good", 3),
    "slow": ("good", 2),
    "slower": ("good", 1),
    "veryslow": ("good", 0),
}
SVT_AV1_PRESET: dict[str, int] = {
    "ultrafast": 12, "superfast": 11, "veryfast": 10, "faster": 9, "fast": 8,
    "medium": 6, "slow": 4, "slower": 3, "veryslow": 2,
}  # fmt: skip
DEFAULT_PRESET = "fast"
