"""A photo of the terminal's screen → text, with Tesseract.

Tesseract (Debian's ``tesseract-ocr`` and ``tesseract-ocr-chi-sim``; ``python3 scripts/dev.py
test`` installs them) reads Simplified Chinese and English (``chi_sim`` and ``eng``) through
pytesseract, the screen as one block of lines (page segmentation mode 6): first with
``chi_sim``, which knows Latin letters and digits too and, unlike ``chi_sim+eng``, does not
take a line of Chinese in a small font for English; a screen with no Chinese read on it is
read again with ``eng`` (an English terminal), and one where nothing was read at all, as
scattered text with both. A phone photo of a small LCD is not a scan, so the image is prepared
first with Pillow:

1. turned upright from its EXIF orientation, made grey, its specks smoothed, its contrast
   stretched;
2. straightened: of small rotations up to 6 degrees either way, the one whose rows of text are
   sharpest (the rows' ink profile varies most) is kept;
3. scaled so a line of text is about :data:`TEXT_HEIGHT` pixels high (measured as the median
   run of rows with ink; Tesseract misreads characters much smaller or larger), and smoothed
   (a median filter takes out sensor noise and the LCD's pixel grid);
4. made black on white (Otsu's threshold; a screen with light text on a dark background is
   inverted).

Photos larger than :data:`MAX_BYTES` or :data:`MAX_PIXELS`, bytes that are not an image, and a
machine without Tesseract or its Chinese data raise
:class:`~possettle.support.errors.PhotoError` saying what to do. Pillow and pytesseract are
imported when a photo is read, not with this module.
"""

from __future__ import annotations

import io
import re
import warnings
from functools import cache
from typing import TYPE_CHECKING

from possettle.support.errors import PhotoError

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
LANGS = ("chi_sim", "eng")
#: the height in pixels a line of text is scaled to before OCR
TEXT_HEIGHT = 48
#: the rotations tried to straighten a photo, in degrees (counter-clockwise); then one degree
#: either side of the best
ANGLES = (0.0, -2.0, 2.0, -4.0, 4.0, -6.0, 6.0)
_TIMEOUT_S = 30
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_GAP = re.compile(r"(?<=[\u3000-\u9fff\uff00-\uffef]) +(?=[\u3000-\u9fff\uff00-\uffef])")
_WORDS = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]{2,}")


def photo_text(data: bytes) -> str:
    """The text Tesseract reads off an image file's bytes (chi_sim + eng).

    Raises :class:`~possettle.support.errors.PhotoError` for bytes that are not an image, an
    image too large, or Tesseract missing.
    """
    if len(data) > MAX_BYTES:
        raise PhotoError.said(
            "photo.too_large_bytes", megabytes=round(len(data) / 2**20, 1), most=MAX_BYTES // 2**20
        )
    image = _open(data)
    _tesseract_ready()
    prepared = prepare(image)
    text = _read(prepared, "chi_sim", "--psm 6")
    if not _CJK.search(text):
        # no Chinese on the screen: an English terminal, which eng reads better
        text = _read(prepared, "eng", "--psm 6") or text
    if not _WORDS.search(text):
        # nothing read as lines of text: try it as scattered text
        text = _read(prepared, "+".join(LANGS), "--psm 11")
    return _tidy(text)


def _read(prepared: Image, lang: str, config: str) -> str:
    import pytesseract  # heavy: only the support desk needs it

    try:
        text: str = pytesseract.image_to_string(
            prepared, lang=lang, config=config, timeout=_TIMEOUT_S
        )
    except (pytesseract.TesseractError, RuntimeError, OSError) as exc:
        raise PhotoError.said("photo.ocr_failed", reason=str(exc).strip()[:200]) from exc
    return text.strip()


def _tidy(text: str) -> str:
    """Tesseract puts a space between Chinese characters; lines stay lines, blanks go."""
    lines = (_CJK_GAP.sub("", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _open(data: bytes) -> Image:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns (and our tests turn warnings into errors) above its own limit
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise PhotoError.said(
                    "photo.too_large_pixels",
                    megapixels=round(width * height / 1e6, 1),
                    most=MAX_PIXELS // 1_000_000,
                )
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise PhotoError.said(
            "photo.too_large_pixels", megapixels="?", most=MAX_PIXELS // 1_000_000
        ) from exc
    except UnidentifiedImageError as exc:
        raise PhotoError.said("photo.not_an_image") from exc
    except (OSError, ValueError, SyntaxError) as exc:  # a truncated or damaged file
        raise PhotoError.said("photo.damaged", reason=str(exc)[:200]) from exc
    return ImageOps.exif_transpose(image)


@cache
def _languages() -> frozenset[str]:
    import pytesseract

    try:
        pytesseract.get_tesseract_version()
        return frozenset(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractNotFoundError, OSError):
        return frozenset()


def _tesseract_ready() -> None:
    found = _languages()
    if not found:
        raise PhotoError.said("photo.no_tesseract")
    if missing := [lang for lang in LANGS if lang not in found]:
        raise PhotoError.said("photo.no_language", languages="+".join(missing))


# ----------------------------------------------------------------------------- preparation


def prepare(image: Image) -> Image:
    """``image`` as Tesseract reads best: grey, straight, its text about TEXT_HEIGHT pixels
    high, black on white (see the module's docstring)."""
    from PIL import Image as PILImage
    from PIL import ImageFilter, ImageOps

    # noise out at the photo's own scale (an enlarged speck outlives a 3×3 median)
    grey = ImageOps.autocontrast(image.convert("L").filter(ImageFilter.MedianFilter(3)), cutoff=1)
    threshold, dark_text = _split(grey)
    binary = _binarise(grey, threshold, dark_text)
    angle = _straightest(binary, ANGLES)
    angle = _straightest(binary, (angle - 1, angle, angle + 1))
    if angle:
        background = 255 if dark_text else 0
        grey = grey.rotate(angle, PILImage.Resampling.BICUBIC, expand=True, fillcolor=background)
        binary = _binarise(grey, threshold, dark_text)
    scale = min(max(TEXT_HEIGHT / _text_height(binary), 0.5), 4.0)
    size = (max(round(grey.width * scale), 1), max(round(grey.height * scale), 1))
    grey = grey.resize(size, PILImage.Resampling.LANCZOS).filter(ImageFilter.MedianFilter(3))
    return _binarise(grey, *_split(grey))


def _split(grey: Image) -> tuple[int, bool]:
    """The grey level between ink and background, and whether the ink is the darker."""
    histogram = grey.histogram()
    threshold = _otsu(histogram)
    return threshold, _mean(histogram) > threshold  # most pixels light: dark text


def _binarise(grey: Image, threshold: int, dark_text: bool) -> Image:
    """Black text on white."""
    return grey.point(lambda v: 255 if (v > threshold) == dark_text else 0)


def _straightest(binary: Image, angles: tuple[float, ...]) -> float:
    return max(angles, key=lambda a: _sharpness(_rotate(binary, a)))


def _rotate(binary: Image, angle: float) -> Image:
    from PIL import Image as PILImage

    if not angle:
        return binary
    return binary.rotate(angle, PILImage.Resampling.BILINEAR, expand=True, fillcolor=255).point(
        lambda v: 255 if v > 127 else 0
    )


def _ink_rows(binary: Image) -> list[int]:
    """The ink of each row, 0 (none) to 255 (all black)."""
    from PIL import Image as PILImage

    # one grey byte per row: the row's mean
    return [255 - v for v in binary.resize((1, binary.height), PILImage.Resampling.BOX).tobytes()]


def _sharpness(binary: Image) -> float:
    """How much the ink per row varies: rows of text that lie straight give sharp peaks."""
    rows = _ink_rows(binary)
    mean = sum(rows) / len(rows)
    return sum((r - mean) ** 2 for r in rows) / len(rows)


def _text_height(binary: Image) -> float:
    """The height of a line of text in pixels: the median run of rows with ink in them."""
    rows = _ink_rows(binary)
    floor = max(rows) / 8  # a row of text has ink; a speck of noise hardly any
    runs, run = [], 0
    for ink in [*rows, 0]:
        if ink > floor:
            run += 1
        elif run:
            runs.append(run)
            run = 0
    runs = sorted(r for r in runs if r >= 4) or [TEXT_HEIGHT]
    return float(runs[len(runs) // 2])


def _mean(histogram: list[int]) -> float:
    total = sum(histogram)
    return sum(i * n for i, n in enumerate(histogram)) / max(total, 1)


def _otsu(histogram: list[int]) -> int:
    """The grey level that best splits ink from background (Otsu's method)."""
    total = sum(histogram)
    sum_all = sum(i * n for i, n in enumerate(histogram))
    weight_bg = sum_bg = 0.0
    best, best_level = -1.0, 127
    for level, count in enumerate(histogram):
        weight_bg += count
        if weight_bg == 0:
            continue
        weight_fg = total - weight_bg
        if weight_fg == 0:
            break
        sum_bg += level * count
        mean_bg, mean_fg = sum_bg / weight_bg, (sum_all - sum_bg) / weight_fg
        between = weight_bg * weight_fg * (mean_bg - mean_fg) ** 2
        if between > best:
            best, best_level = between, level
    return best_level
