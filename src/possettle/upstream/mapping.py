"""Building upstream ISO 8583:1987 messages from an :class:`AuthRequest`, and reading replies.

Pure functions over pyiso8583 field dicts (``{"t": "0200", "2": ..., ...}``); the connector
owns sockets and timing. Requests carry 2, 3, 4, 7, 11, 12, 13, 22, 37, 41, 42, 49, plus 14
with an expiry, 35 with track 2, 52 with an encrypted PIN block and 90 when an original is
known. A reversal is its original with MTI 0400, the **original STAN**, a fresh field 7, 39 =
the reversal reason, 38 when an authorization code was received, and 90 = original data
elements; it never carries 35 or 52.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from possettle.iso8583 import amounts
from possettle.upstream.connector import AuthKind, AuthRequest, AuthResult
from possettle.upstream.errors import UpstreamProtocolError
from possettle.upstream.wire import Fields

PROCESSING_CODES: Mapping[AuthKind, str] = {
    AuthKind.SALE: "000000",
    AuthKind.VOID: "020000",
    AuthKind.REFUND: "200000",
    AuthKind.OFFLINE: "220000",
    AuthKind.BALANCE: "310000",
}
_RESPONSE_RE = re.compile(r"^[0-9A-Z]{2}$")
_NO_INSTITUTION = "0" * 22  # 90.4 acquiring + 90.5 forwarding institution: not used upstream


@dataclass(frozen=True, slots=True)
class Original:
    """What field 90 needs of an earlier message: its MTI, STAN and transmission time."""

    mti: str
    stan: str
    transmitted: str  # field 7, MMDDhhmmss

    def field90(self) -> str:
        return self.mti + self.stan + self.transmitted + _NO_INSTITUTION


def transmission_time(now: datetime) -> str:
    """Field 7: MMDDhhmmss in UTC."""
    return now.astimezone(UTC).strftime("%m%d%H%M%S")


def reply_mti(mti: str) -> str:
    """``0200`` → ``0210``, ``0220`` → ``0230``, ``0400`` → ``0410``."""
    return mti[:2] + str(int(mti[2]) + 1) + mti[3:]


def auth_message(
    req: AuthRequest,
    stan: str,
    now: datetime,
    pin_block: bytes | None = None,
    original: Original | None = None,
) -> Fields:
    fields: Fields = {
        "t": "0220" if req.kind is AuthKind.OFFLINE else "0200",
        "2": req.pan,
        "3": PROCESSING_CODES[req.kind],
        "4": req.amount.field4(),
        "7": transmission_time(now),
        "11": stan,
        "12": req.local_time.strftime("%H%M%S"),
        "13": req.local_time.strftime("%m%d"),
        "22": req.entry_mode,
        "37": req.rrn.ljust(12),
        "41": req.tid.ljust(8),
        "42": req.mid.ljust(15),
        "49": req.amount.currency,
    }
    if req.expiry is not None:
        fields["14"] = req.expiry
    if req.track2 is not None:
        # ISO 7813 track 2 in ASCII separates PAN and expiry with '='; PS-CUP writes 'D'.
        fields["35"] = req.track2.replace("D", "=").replace("d", "=")
    if pin_block is not None:
        fields["52"] = pin_block.hex().upper()
    if original is not None:
        fields["90"] = original.field90()
    return fields


def reversal_message(
    original: Mapping[str, str], reason: str, auth_code: str | None, now: datetime
) -> Fields:
    """The 0400 for ``original`` (a request built by :func:`auth_message`)."""
    keep = ("2", "3", "4", "11", "12", "13", "14", "22", "37", "41", "42", "49")
    fields: Fields = {"t": "0400"} | {k: original[k] for k in keep if k in original}
    fields["7"] = transmission_time(now)
    fields["39"] = reason
    if auth_code is not None:
        fields["38"] = auth_code.ljust(6)
    fields["90"] = Original(original["t"], original["11"], original["7"]).field90()
    return fields


def auth_result(reply: Mapping[str, str]) -> AuthResult:
    """Field 39 and 38 of a reply; :class:`UpstreamProtocolError` when 39 is unusable."""
    code = reply.get("39")
    if code is None or not _RESPONSE_RE.match(code):
        raise UpstreamProtocolError(
            f"issuer reply {reply.get('t', '?')} stan={reply.get('11', '?')} "
            f"has no usable response code (field 39: {code!r})"
        )
    auth_code = reply.get("38", "").strip() or None
    return AuthResult(code, auth_code, balance=balance_of(reply))


def balance_of(reply: Mapping[str, str]) -> int | None:
    """The available (else ledger) balance in field 54 of a reply, if it has a readable one."""
    text = reply.get("54")
    if not text:
        return None
    try:
        found = amounts.available(amounts.parse(text.strip()))
    except ValueError:
        return None
    return None if found is None else found.minor
