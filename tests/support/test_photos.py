"""Photos of a terminal's screen, OCR'd with Tesseract (support/ocr.py) and read by the same
matcher as typed text: tilted, noisy, low in contrast, blurred, light text on dark."""

from __future__ import annotations

import io
import struct
import zlib

import pytest

from possettle.explain import explain
from possettle.support import ocr
from possettle.support.errors import PhotoError
from possettle.support.match import read_screen
from tests.support.photos import BLUE, Spoil, require_ocr, screen_photo

# (what the screen shows, how the photo is spoilt, the screen message, the code on it)
PHOTOS = [
    (["冲正不成功", "请与客服联系"], Spoil(), "reversal_failed", None),
    (["结算失败", "错误码:[A0]"], Spoil(tilt=4), "settlement_failed", "A0"),
    (
        ["上次批上送中断", "将继续批上送"],
        Spoil(tilt=-3, blur=1.0),
        "batch_upload_interrupted",
        None,
    ),
    (["[97] 终端未登记"], Spoil(noise=0.03), "terminal_unregistered", "97"),
    (["SIM卡错误"], Spoil(tilt=2, noise=0.02, blur=0.8), "sim_error", None),
    (["打印机缺纸...", "按<确认>打印"], Spoil(contrast=0.35), "paper_out", None),
    (["主密钥不存在"], Spoil(colours=BLUE), "master_key_missing", None),
    (["BATCH CLOSE FAILED"], Spoil(blur=1.2), "batch_close_failed", None),
]


@pytest.mark.parametrize(("lines", "spoil", "screen_id", "code"), PHOTOS)
def test_a_photo_of_the_screen_is_read_and_matched(
    lines: list[str], spoil: Spoil, screen_id: str, code: str | None
) -> None:
    require_ocr()
    text = ocr.photo_text(screen_photo(lines, spoil))
    reading = read_screen(text)
    assert [m.id for m in reading.screens][:1] == [screen_id], text
    assert reading.codes == ((code,) if code else ()), text


def test_the_text_read_keeps_the_screens_lines_and_drops_tesseracts_spaces() -> None:
    require_ocr()
    text = ocr.photo_text(screen_photo(["冲正不成功", "请与客服联系"]))
    first, second = text.split("\n")
    assert second == "请与客服联系" and "冲正不成功"[1:] in first and " " not in first


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height`` (the pixels never come)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def _said(error: PhotoError) -> tuple[str, str]:
    text = explain(error)
    return text.en, text.zh


def test_a_file_that_is_not_a_picture_is_refused_plainly() -> None:
    with pytest.raises(PhotoError) as caught:
        ocr.photo_text(b"%PDF-1.4 this is not a picture")
    en, zh = _said(caught.value)
    assert "not a picture" in en and "JPEG" in en
    assert "不是图片" in zh


def test_a_photo_over_10_mb_is_refused_before_it_is_opened() -> None:
    with pytest.raises(PhotoError) as caught:
        ocr.photo_text(b"\xff\xd8" + bytes(ocr.MAX_BYTES))
    en, zh = _said(caught.value)
    assert "10.0 MB" in en and "at most 10 MB" in en and "MB" in zh


def test_a_photo_over_40_megapixels_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(PhotoError) as caught:
        ocr.photo_text(_png_header_claiming(8000, 6000))
    assert "48.0 megapixels" in str(caught.value) and "at most 40" in str(caught.value)


def test_a_picture_pillow_itself_calls_a_bomb_is_refused_as_too_large() -> None:
    with pytest.raises(PhotoError, match="at most 40 megapixels"):
        ocr.photo_text(_png_header_claiming(20000, 20000))


def test_a_truncated_picture_is_refused_as_damaged() -> None:
    whole = screen_photo(["结算失败"])
    with pytest.raises(PhotoError, match="damaged"):
        ocr.photo_text(whole[: len(whole) // 3])


def test_without_tesseract_the_error_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    ocr._languages.cache_clear()
    try:
        with pytest.raises(PhotoError) as caught:
            ocr.photo_text(_small_png())
    finally:
        monkeypatch.undo()
        ocr._languages.cache_clear()
    en, zh = _said(caught.value)
    assert "python3 scripts/dev.py test" in en and "tesseract-ocr-chi-sim" in en
    assert "python3 scripts/dev.py test" in zh and "--screen" in zh


def test_without_the_chinese_data_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "_languages", lambda: frozenset({"eng", "osd"}))
    with pytest.raises(PhotoError) as caught:
        ocr.photo_text(_small_png())
    assert "chi_sim" in str(caught.value) and "tesseract-ocr-chi-sim" in str(caught.value)


def _small_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", (40, 20), 255).save(out, "PNG")
    return out.getvalue()


def test_preparing_a_dark_screen_gives_black_text_on_white() -> None:
    from PIL import Image

    photo = Image.open(io.BytesIO(screen_photo(["主密钥不存在"], Spoil(colours=BLUE))))
    prepared = ocr.prepare(photo)
    histogram = prepared.histogram()
    assert prepared.mode == "L" and prepared.width > photo.width  # 34 px text enlarged to 48
    assert sum(histogram[1:255]) == 0  # black and white only
    assert histogram[255] > 4 * histogram[0]  # mostly white: the background


def test_a_photo_taken_sideways_is_turned_upright_from_its_exif_orientation() -> None:
    require_ocr()
    from PIL import Image

    upright = Image.open(io.BytesIO(screen_photo(["主密钥不存在"])))
    # the camera stores the pixels turned and says so in EXIF (6: turn 90° clockwise to view)
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=85, exif=exif.tobytes())
    text = ocr.photo_text(out.getvalue())
    assert [m.id for m in read_screen(text).screens][:1] == ["master_key_missing"], text
