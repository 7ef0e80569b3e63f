"""Registration: which edges and operations exist, their options, and that nothing heavy is imported."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conversio_image import plugin
from image_helpers import SPECS, spec_for

from conversio.converters import Cardinality
from conversio.errors import InvalidOption
from conversio.plugins import PluginHost

RASTER = ("jpg", "png", "webp", "gif", "bmp", "tiff", "ico", "avif")


def test_every_raster_pair_heic_and_svg_edges_and_operations_are_registered() -> None:
    host = PluginHost(autoload=False)
    host.register(plugin, "image")
    registered = host.registry.converters
    for source in (*RASTER, "heic"):
        for target in RASTER:
            if source != target:
                assert f"image.pillow:{source}->{target}" in registered
    for target in ("png", "jpg", "webp"):
        assert f"image.resvg:svg->{target}" in registered
    assert not any(s.target in ("heic", "svg") for s in registered.values())
    for fmt in RASTER:
        for operation in ("resize", "rotate", "crop", "thumbnail"):
            spec = registered[f"image.pillow:{operation}({fmt})"]
            assert (spec.source, spec.target, spec.operation) == (fmt, fmt, operation)
    assert len(registered) == 9 * 8 - 8 + 3 + 4 * 8


def test_registration_imports_no_engine() -> None:
    probe = (
        "import sys, json\n"
        "from conversio.plugins import PluginHost\n"
        "import conversio_image.plugin as p\n"
        "h = PluginHost(autoload=False); h.register(p, 'image'); h.registry\n"
        "print(json.dumps([m for m in ('PIL', 'pillow_heif', 'resvg_py') if m in sys.modules]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_tiff_splits_into_pages_only_for_single_page_targets() -> None:
    for target in ("jpg", "png", "webp", "gif", "bmp", "ico", "avif"):
        assert spec_for("tiff", target).cardinality is Cardinality.ONE_TO_MANY
    assert spec_for("png", "tiff").cardinality is Cardinality.ONE_TO_ONE
    assert spec_for("heic", "tiff").cardinality is Cardinality.ONE_TO_ONE
    assert "image.pillow:tiff->tiff" not in SPECS


def test_lossy_targets_are_flagged_and_cost_more() -> None:
    assert spec_for("png", "jpg").lossy and spec_for("png", "webp").lossy and spec_for("png", "avif").lossy
    assert not spec_for("jpg", "png").lossy and not spec_for("jpg", "tiff").lossy
    assert spec_for("png", "jpg").cost > spec_for("jpg", "png").cost


def test_options_only_where_they_apply() -> None:
    assert "quality" in spec_for("png", "jpg").options
    assert "quality" not in spec_for("jpg", "png").options
    assert "auto_orient" in spec_for("jpg", "png").options
    assert "auto_orient" not in spec_for("bmp", "png").options
    assert "first_frame" in spec_for("gif", "webp").options
    assert "first_frame" not in spec_for("gif", "jpg").options
    assert "strip_metadata" not in spec_for("png", "bmp").options
    assert "dpi" in spec_for("png", "tiff").options and "dpi" not in spec_for("png", "webp").options
    assert spec_for("png", "jpg").options.get("background").default == "white"
    assert spec_for("jpg", "png").options.get("background").default == "transparent"
    assert spec_for("png", "jpg").options.validate({})["quality"] == 85


@pytest.mark.parametrize(
    ("options", "bad"),
    [
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
        ({"quality": "high"}, "quality"),
        ({"fit": "stretch"}, "fit"),
        ({"width": 0}, "width"),
        ({"width": -3}, "width"),
        ({"auto_orient": "maybe"}, "auto_orient"),
        ({"colour": "red"}, None),
    ],
)
def test_bad_options_are_invalid_option(options: dict[str, object], bad: str | None) -> None:
    with pytest.raises(InvalidOption) as info:
        spec_for("png", "jpg").options.validate(options)
    assert info.value.code == "INVALID_OPTION"
    if bad:
        assert info.value.details["option"] == bad
