"""Photos of a terminal's screen for the tests, drawn with Pillow in a CJK font and spoilt the
way a phone camera spoils them (tilt, sensor noise, low contrast, blur, JPEG).

The font is the one ``scripts/dev.py test`` installs for the console's Chinese screenshots
(Debian's fonts-wqy-zenhei), found with fontconfig; Tesseract and its chi_sim data come from the
same set-up. Without them the OCR tests skip, or fail with POSSETTLE_REQUIRE_TOOLS=1 (CI).
"""

from __future__ import annotations

import io
import random
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from tests.tools import missing_tool

# LCD screens: dark text on grey-green, and a colour terminal's light text on blue
LCD = ((188, 202, 168), (34, 38, 30))
BLUE = ((24, 44, 118), (232, 232, 232))


@dataclass(frozen=True)
class Spoil:
    tilt: float = 0.0  # degrees, counter-clockwise
    noise: float = 0.0  # the share of pixels turned into random specks
    contrast: float = 1.0  # 1: as drawn; 0.3: text barely darker than the screen
    blur: float = 0.0  # Gaussian radius in pixels
    colours: tuple[tuple[int, int, int], tuple[int, int, int]] = LCD
    quality: int = 70  # JPEG


@cache
def cjk_font() -> Path:
    fc = shutil.which("fc-list")
    if fc is not None:
        listed = subprocess.run(
            [fc, ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
        files = sorted(line.strip().rstrip(":") for line in listed.splitlines() if line.strip())
        preferred = [f for f in files if "wqy" in f] + files
        if preferred:
            return Path(preferred[0])
    missing_tool("no font with Chinese glyphs (fonts-wqy-zenhei; python3 scripts/dev.py test)")


def require_ocr() -> None:
    from possettle.support import ocr

    found = ocr._languages()
    if not {"chi_sim", "eng"} <= found:
        missing_tool(
            "Tesseract with chi_sim and eng is not installed "
            "(tesseract-ocr, tesseract-ocr-chi-sim; python3 scripts/dev.py test)"
        )


def screen_photo(lines: list[str], spoil: Spoil = Spoil(), *, size: int = 34) -> bytes:
    """A JPEG of a terminal screen showing ``lines``."""
    from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

    font = ImageFont.truetype(str(cjk_font()), size)
    background, ink = spoil.colours
    line_height = round(size * 1.6)
    image = Image.new("RGB", (620, 2 * size + line_height * len(lines)), background)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((size, size + i * line_height), line, font=font, fill=ink)
    if spoil.contrast != 1.0:
        image = ImageEnhance.Contrast(image).enhance(spoil.contrast)
    if spoil.tilt:
        image = image.rotate(
            spoil.tilt, Image.Resampling.BICUBIC, expand=True, fillcolor=background
        )
    if spoil.noise:
        rng = random.Random(7)
        pixels = image.load()
        assert pixels is not None
        for _ in range(int(image.width * image.height * spoil.noise)):
            grey = rng.randrange(256)
            pixels[rng.randrange(image.width), rng.randrange(image.height)] = (grey,) * 3
    if spoil.blur:
        image = image.filter(ImageFilter.GaussianBlur(spoil.blur))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=spoil.quality)
    return out.getvalue()
