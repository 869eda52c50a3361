"""The host master key file: one line of 64 hex characters, mode 0600.

Creation writes a temporary file in the same directory, fsyncs it, then links it into
place. ``os.link`` rather than ``os.replace``: both are atomic, but ``link`` refuses to
overwrite, so two processes starting at once cannot each create a key and leave one of
them sealing data with a key that is no longer on disk — the loser reads the winner's key.
"""

from __future__ import annotations

import binascii
import os
import secrets
from pathlib import Path

from possettle.crypto.errors import KeyFileError

MASTER_KEY_LENGTH = 32
_HEX_LENGTH = 2 * MASTER_KEY_LENGTH


def parse_master_key_hex(text: str, *, source: str) -> bytes:
    """32 bytes from 64 hex characters; ``source`` names where they came from in errors."""
    digits = text.strip()
    if len(digits) != _HEX_LENGTH:
        raise ValueError(f"{source} must be {_HEX_LENGTH} hex characters, found {len(digits)}")
    try:
        return binascii.unhexlify(digits)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{source} must be hex digits only") from exc


def read_key_file(path: Path) -> bytes:
    """The 32-byte master key in ``path``; :class:`KeyFileError` names the path and the fault."""
    try:
        text = path.read_text(encoding="ascii")
    except UnicodeDecodeError as exc:
        raise KeyFileError(path, "is not ASCII hex text") from exc
    except OSError as exc:
        raise KeyFileError(path, f"cannot be read: {exc.strerror or exc}") from exc
    if len(text.strip().splitlines()) > 1:
        raise KeyFileError(path, "must hold exactly one line of hex")
    try:
        return parse_master_key_hex(text, source="its content")
    except ValueError as exc:
        raise KeyFileError(path, str(exc)) from exc


def create_key_file(path: Path) -> bytes:
    """Write a fresh random master key to ``path`` (mode 0600) unless one appears first.

    Returns the key now in ``path``: ours, or another process's if it won the race.
    """
    material = secrets.token_bytes(MASTER_KEY_LENGTH)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (material.hex().upper() + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return read_key_file(path)
    except OSError as exc:
        raise KeyFileError(path, f"cannot be created: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return material
