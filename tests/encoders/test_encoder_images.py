"""Image decoding: awkward formats become RGB, bad inputs are skipped with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from encoders import images
from encoders.images import (
    ImageLoadError,
    inspect_image,
    load_batch,
    normalize_uint8,
    open_rgb,
    to_uint8,
)


def test_every_good_kind_decodes_to_rgb(
    good_and_bad: tuple[tuple[str, ...], tuple[str, ...]], odd_images: dict[str, object]
) -> None:
    good_kinds, _ = good_and_bad
    for kind in good_kinds:
        image = open_rgb(odd_images[kind])
        assert image.mode == "RGB", kind


def test_alpha_is_composited_on_white(odd_images: dict[str, object]) -> None:
    pixel = open_rgb(odd_images["alpha"]).getpixel((0, 0))
    assert isinstance(pixel, tuple)
    # half-transparent blue over white: red and green rise to about 127, blue stays high
    assert 120 <= pixel[0] <= 135 and pixel[2] == 255


def test_cmyk_keeps_its_colour(odd_images: dict[str, object]) -> None:
    red, green, blue = np.asarray(open_rgb(odd_images["cmyk"])).reshape(-1, 3).mean(axis=0)
    assert green > 150 > red and green > blue


@pytest.mark.parametrize("kind", ["truncated", "garbage", "missing", "not-an-image"])
def test_bad_inputs_raise_load_errors(odd_images: dict[str, object], kind: str) -> None:
    with pytest.raises(ImageLoadError):
        open_rgb(odd_images[kind])


def test_oversized_image_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("RGB", (300, 200)).save(path)
    with pytest.raises(ImageLoadError, match="over the limit"):
        open_rgb(path, max_pixels=300 * 199)
    assert open_rgb(path, max_pixels=300 * 200).size == (300, 200)


def test_a_decompression_bomb_is_refused_with_its_size_by_inspection_and_decoding(
    tmp_path: Path,
) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb)  # 400 Mpx in a few hundred KB
    with pytest.raises(ImageLoadError, match=r"too large|over the limit"):
        inspect_image(bomb)
    with pytest.raises(ImageLoadError, match=r"too large|over the limit"):
        open_rgb(bomb)
    with pytest.raises(ImageLoadError, match=r"too large|over the limit"):
        open_rgb(bomb.read_bytes())


def test_inspection_reports_size_and_format_and_refuses_non_images(
    odd_images: dict[str, object], tmp_path: Path
) -> None:
    path = tmp_path / "ok.png"
    Image.new("RGB", (30, 20)).save(path)
    assert inspect_image(path) == (30, 20, "PNG")
    svg = tmp_path / "x.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    with pytest.raises(ImageLoadError, match="not a readable image"):
        inspect_image(svg)


def test_undecodable_bytes_are_described_without_python_object_names() -> None:
    with pytest.raises(ImageLoadError) as caught:
        open_rgb(b"this is not an image")
    assert "object at 0x" not in str(caught.value) and "not a readable image" in str(caught.value)


def test_batch_skips_bad_items_and_keeps_order(
    good_and_bad: tuple[tuple[str, ...], tuple[str, ...]],
    odd_images: dict[str, object],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    good_kinds, bad_kinds = good_and_bad
    huge = tmp_path / "huge.png"
    Image.new("1", (500, 500)).save(huge)
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 400 * 400)
    sources = [odd_images[k] for k in (*good_kinds, *bad_kinds)] + [huge]
    pixels, kept, skipped = load_batch(sources, 24)
    assert pixels.shape == (len(good_kinds), 24, 24, 3) and pixels.dtype == np.uint8
    assert kept == list(range(len(good_kinds)))
    assert [s.position for s in skipped] == list(range(len(good_kinds), len(sources)))
    reasons = " | ".join(s.reason for s in skipped)
    assert "truncated" in reasons and "no such image file" in reasons
    assert "over the limit" in skipped[-1].reason


def test_resize_center_crop_and_normalize() -> None:
    wide = Image.new("RGB", (100, 50), (255, 0, 0))
    wide.paste((0, 0, 255), (0, 0, 20, 50))  # a blue band on the left is cropped away
    array = to_uint8(wide, 32)
    assert array.shape == (32, 32, 3)
    assert (array[..., 0] > 200).all()
    chw = normalize_uint8(array[None], mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    assert chw.shape == (1, 3, 32, 32) and chw.dtype == np.float32
    assert np.allclose(chw[0, 0], 1.0, atol=0.03) and np.allclose(chw[0, 2], -1.0, atol=0.03)
