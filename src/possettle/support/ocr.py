"""A photo of the terminal's screen → text, with Tesseract (owner: the reading branch)."""

from __future__ import annotations


def photo_text(data: bytes) -> str:
    """The text Tesseract reads off an image file's bytes (chi_sim + eng).

    Raises :class:`~possettle.support.errors.PhotoError` for bytes that are not an image, an
    image too large, or Tesseract missing.
    """
    raise NotImplementedError("the reading branch builds this")
