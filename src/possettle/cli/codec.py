"""``possettle codec``: look inside PS-CUP/1 frames, always masked.

``decode`` takes the hex of a whole frame (with its 2-byte LEN), a frame without LEN
(starting at the TPDU's ``60``), or a bare ISO body (starting at the MTI), and prints the
fields through the masked pretty-printer: card numbers as first 6 / last 4, track 2, PIN
block, chip data and working keys never in clear.
"""

from __future__ import annotations

import binascii
import struct
import sys
from dataclasses import dataclass
from typing import Annotated

import typer

from possettle.cli.common import JsonOption, print_json, user_errors
from possettle.errors import ConfigError
from possettle.iso8583 import codec
from possettle.iso8583.framing import TPDU_LEN, Frame, parse_payload
from possettle.iso8583.mask import masked, pretty

app = typer.Typer(help="PS-CUP/1 codec tools (masked: no clear card data).", no_args_is_help=True)

_TPDU_ID = 0x60


@dataclass(frozen=True)
class Parsed:
    """What the input turned out to be: the frame around the body (if any) and the fields."""

    form: str
    frame: Frame | None
    fields: dict[str, str]


def parse_hex(text: str) -> bytes:
    """Bytes from hex, ignoring whitespace; a :class:`ConfigError` names the bad position."""
    digits = "".join(text.split())
    if digits.lower().startswith("0x"):
        digits = digits[2:]
    if len(digits) % 2:
        raise ConfigError.said("codec.hex_odd", length=len(digits))
    try:
        return binascii.unhexlify(digits)
    except binascii.Error as e:
        bad = next(i for i, c in enumerate(digits) if c not in "0123456789abcdefABCDEF")
        raise ConfigError.said("codec.hex_char", pos=bad) from e


def parse_any(raw: bytes) -> Parsed:
    """Decode ``raw`` as a frame with LEN, a frame without LEN, or a bare ISO body.

    A LEN that counts exactly the bytes after it, followed by the TPDU id ``60``, marks a full
    frame; a leading ``60`` (never the first byte of a BCD MTI) marks a frame without LEN.
    """
    if len(raw) > 2 and raw[2] == _TPDU_ID and struct.unpack_from(">H", raw)[0] == len(raw) - 2:
        frame = parse_payload(raw[2:])
        return Parsed("frame", frame, codec.decode(frame.body))
    if len(raw) > TPDU_LEN and raw[0] == _TPDU_ID:
        frame = parse_payload(raw)
        return Parsed("frame without LEN", frame, codec.decode(frame.body))
    return Parsed("ISO body", None, codec.decode(raw))


@app.command("decode")
def decode(
    hex_input: Annotated[
        str,
        typer.Argument(
            metavar="HEX",
            help="The frame or body as hex (spaces allowed); '-' reads it from stdin.",
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Print a PS-CUP/1 frame field by field, with card data masked."""
    with user_errors():
        text = sys.stdin.read() if hex_input == "-" else hex_input
        parsed = parse_any(parse_hex(text))
    frame = parsed.frame
    if as_json:
        data: dict[str, object] = {"form": parsed.form}
        if frame is not None:
            data["tpdu"] = {"id": frame.tpdu.ident, "dest": frame.tpdu.dest, "src": frame.tpdu.src}
            h = frame.header
            data["header"] = {
                "app_type": h.app_type,
                "version": h.version,
                "status": h.status,
                "requirement": h.requirement,
                "sub_version": h.sub_version,
            }
        data["fields"] = masked(parsed.fields)
        print_json(data)
        return
    if frame is not None:
        t, h = frame.tpdu, frame.header
        major, minor, patch = h.software_version
        typer.echo(
            f"{parsed.form}: TPDU {t.ident} {t.dest} {t.src} · header {h.app_type} {h.version} "
            f"status {h.status} requirement {h.requirement} software {major}.{minor}.{patch}"
        )
    else:
        typer.echo(parsed.form)
    typer.echo(pretty(parsed.fields))
