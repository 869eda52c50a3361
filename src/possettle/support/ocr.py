"""A photo of the terminal's screen → text, with Tesseract (owner: the reading branch).

Tesseract (Debian's ``tesseract-ocr`` and ``tesseract-ocr-chi-sim``; ``python3 scripts/dev.py
test`` installs them) reads Simplified Chinese and English (``chi_sim+eng``) through
pytesseract. A phone photo of a small LCD is not a scan, so the image is prepared first with
Pillow:

1. turned upright from its EXIF orientation, made grey, its contrast stretched;
2. scaled so the screen is about :data:`WORK_WIDTH` pixels wide (a small image is enlarged:
   Tesseract wants characters some 20-40 pixels high), and smoothed (a median filter takes
   out sensor noise and the LCD's pixel grid);
3. straightened: of a few small rotations, the one whose rows of text are sharpest (the rows'
   ink profile varies most) is kept;
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
#: the width the screen is scaled to before OCR
WORK_WIDTH = 1600
#: the rotations tried to straighten a photo, in degrees (counter-clockwise)
ANGLES = (0.0, -2.0, 2.0, -4.0, 4.0, -6.0, 6.0)
# Tesseract reads the photo as one block of text lines (page segmentation mode 6); a second
# pass as sparse text (11) when the first found no words.
_CONFIGS = ("--psm 6", "--psm 11")
_TIMEOUT_S = 30
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
    import pytesseract  # heavy: only the support desk needs it

    text = ""
    for config in _CONFIGS:
        try:
            text = pytesseract.image_to_string(
                prepared, lang="+".join(LANGS), config=config, timeout=_TIMEOUT_S
            )
        except (pytesseract.TesseractError, RuntimeError, OSError) as exc:
            raise PhotoError.said("photo.ocr_failed", reason=str(exc).strip()[:200]) from exc
        if _WORDS.search(text):
            break
    return _tidy(text)


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
    """``image`` as Tesseract reads best: grey, upright, about WORK_WIDTH wide, black on
    white (see the module's docstring)."""
    from PIL import Image as PILImage
    from PIL import ImageFilter, ImageOps

    grey = ImageOps.autocontrast(image.convert("L"), cutoff=1)
    scale = WORK_WIDTH / max(grey.width, 1)
    size = (max(round(grey.width * scale), 1), max(round(grey.height * scale), 1))
    grey = grey.resize(size, PILImage.Resampling.LANCZOS).filter(ImageFilter.MedianFilter(3))
    threshold = _otsu(grey.histogram())
    dark_text = _mean(grey.histogram()) > threshold  # most pixels light: dark text
    binary = grey.point(lambda v: 255 if (v > threshold) == dark_text else 0)
    upright = max(ANGLES, key=lambda a: _sharpness(_rotate(binary, a)))
    return _rotate(binary, upright) if upright else binary


def _rotate(binary: Image, angle: float) -> Image:
    from PIL import Image as PILImage

    if not angle:
        return binary
    return binary.rotate(angle, PILImage.Resampling.BILINEAR, expand=True, fillcolor=255).point(
        lambda v: 255 if v > 127 else 0
    )


def _sharpness(binary: Image) -> float:
    """How much the ink per row varies: rows of text that lie straight give sharp peaks."""
    from PIL import Image as PILImage

    # one grey byte per row: the row's mean ink
    rows = list(binary.resize((1, binary.height), PILImage.Resampling.BOX).tobytes())
    mean = sum(rows) / len(rows)
    return sum((r - mean) ** 2 for r in rows) / len(rows)


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
