"""possettle's sign-on extension: the merchant's name and address from the host.

The protocol page leaves the receipt header to the terminal's configuration; possettle's host
sends what its registry holds, so a merchant renamed at the host prints its new name after the
next sign-on (docs/protocol.md, "Merchant name and address at sign-on").

* **0800 field 62** (b, LLLVAR; the page defines no 62 in a sign-on request): the tags the
  terminal can print, one byte each — ``01`` name, ``02`` address. A terminal that sends no
  field 62 asks for nothing and gets the page's 40-byte 0810 field 62, byte for byte.
* **0810 field 62**: the 40 bytes of §6, then for each tag asked that the host has, a TLV —
  tag (1 byte) · length (1 byte) · UTF-8 text. Name at most :data:`NAME_MAX_BYTES`, address
  at most :data:`ADDRESS_MAX_BYTES` (longer text is cut at a character boundary); field 62
  stays within its 512 bytes. A reader skips tags it does not know.

Printers print the text in GB18030 (every Unicode character has a code there), where a
Chinese character takes 2 bytes: 40 characters of name fit one 58 mm receipt line pair.

>>> wire = encode(MerchantInfo("好运来便利店", "上海市浦东新区世纪大道100号"), WANTED)
>>> decode(wire)
MerchantInfo(name='好运来便利店', address='上海市浦东新区世纪大道100号')
>>> wanted(request_field62())
frozenset({1, 2})
>>> decode(b"") == MerchantInfo(None, None)
True
"""

from __future__ import annotations

from dataclasses import dataclass

TAG_NAME = 0x01
TAG_ADDRESS = 0x02
WANTED = frozenset({TAG_NAME, TAG_ADDRESS})
NAME_MAX_BYTES = 120
ADDRESS_MAX_BYTES = 240
_LIMITS = {TAG_NAME: NAME_MAX_BYTES, TAG_ADDRESS: ADDRESS_MAX_BYTES}


@dataclass(frozen=True, slots=True)
class MerchantInfo:
    name: str | None
    address: str | None


def request_field62() -> str:
    """0800 field 62 (hex) asking for the name and the address."""
    return bytes(sorted(WANTED)).hex().upper()


def wanted(field62_hex: str | None) -> frozenset[int]:
    """The tags a sign-on request asks for (none when it carries no readable field 62)."""
    if not field62_hex:
        return frozenset()
    try:
        return frozenset(bytes.fromhex(field62_hex)) & WANTED
    except ValueError:
        return frozenset()


def _cut(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, at most ``limit`` bytes, never splitting a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return data
    return data[:limit].decode("utf-8", errors="ignore").encode("utf-8")


def encode(info: MerchantInfo, tags: frozenset[int]) -> bytes:
    """The TLVs that follow the 40 key bytes of an 0810 field 62."""
    out = bytearray()
    for tag, text in ((TAG_NAME, info.name), (TAG_ADDRESS, info.address)):
        if tag in tags and text:
            value = _cut(text, _LIMITS[tag])
            out += bytes((tag, len(value))) + value
    return bytes(out)


def decode(data: bytes) -> MerchantInfo:
    """The name and address in the TLVs after the key bytes; ValueError when malformed."""
    found: dict[int, str] = {}
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ValueError(f"merchant info: TLV header cut short at byte {pos}")
        tag, length = data[pos], data[pos + 1]
        value = data[pos + 2 : pos + 2 + length]
        if len(value) != length:
            raise ValueError(f"merchant info: tag {tag:02X} says {length} bytes, has {len(value)}")
        if tag in _LIMITS:
            text = value.decode("utf-8")  # UnicodeDecodeError is a ValueError
            if not all(ch.isprintable() for ch in text):
                raise ValueError(f"merchant info: tag {tag:02X} has a control character")
            found[tag] = text
        pos += 2 + length
    return MerchantInfo(found.get(TAG_NAME) or None, found.get(TAG_ADDRESS) or None)
