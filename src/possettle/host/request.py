"""A decoded request and the reply built from it (protocol §3, "A reply echoes …").

Pure functions: no I/O. :class:`Request` is what handlers see; :func:`encode_reply` turns
the reply fields into a frame, MACed when the MTI and response code call for it (§6).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from possettle.crypto.keys import Key
from possettle.crypto.mac import unionpay_ecb_mac, verify_mac
from possettle.iso8583 import codec
from possettle.iso8583.classify import MACED_MTIS, SETTLEMENT_MTIS, MessageKind, reply_mti
from possettle.iso8583.codec import Fields
from possettle.iso8583.errors import EncodeError
from possettle.iso8583.fields import Field60
from possettle.iso8583.framing import Frame, Header, Requirement

#: request fields a reply echoes (as the vectors do); 22/26/52/53/35 are never echoed
ECHOED = ("2", "3", "4", "11", "14", "25", "41", "42", "49", "60")
#: fields never stored with a reply (card data); they are echoed again from the repeat
CARD_FIELDS = frozenset({"2", "35"})


@dataclass(slots=True)
class Request:
    frame: Frame
    fields: Fields
    kind: MessageKind
    f60: Field60

    @property
    def mti(self) -> str:
        return self.fields["t"]

    @property
    def tid(self) -> str:
        return self.fields.get("41", "")

    @property
    def mid(self) -> str:
        return self.fields.get("42", "")

    @property
    def stan(self) -> str:
        return self.fields.get("11", "")

    @property
    def batch(self) -> int:
        return self.f60.batch

    @property
    def maced(self) -> bool:
        return self.mti in MACED_MTIS

    @property
    def settlement(self) -> bool:
        """0500 or 0320: MACed, unless the host's policy lets it come without field 64."""
        return self.mti in SETTLEMENT_MTIS


@dataclass(slots=True)
class Reply:
    """A handler's answer: response code and the fields it adds."""

    code: str
    fields: dict[str, str] = field(default_factory=dict)
    #: ask the terminal to sign on again (header processing requirement 3)
    sign_on: bool = False
    #: MAC the reply with this key when it is MACed and approved
    mak: Key | None = None

    def stored(self) -> str:
        """The reply as stored for exactly-once answers: no card data."""
        kept = {k: v for k, v in self.fields.items() if k not in CARD_FIELDS}
        return json.dumps({"code": self.code, "fields": kept}, sort_keys=True)

    @classmethod
    def from_stored(cls, text: str) -> Reply:
        data = json.loads(text)
        return cls(code=data["code"], fields=dict(data["fields"]))


def host_time_fields(now: datetime) -> dict[str, str]:
    """12 / 13 (and 15, the settlement date) from the host clock."""
    # f-strings, not strftime: this runs for every reply
    return {
        "12": f"{now.hour:02d}{now.minute:02d}{now.second:02d}",
        "13": f"{now.month:02d}{now.day:02d}",
    }


def mac_ok(req: Request, mak: Key) -> bool:
    mac_hex = req.fields.get("64")
    if mac_hex is None:
        return False
    return verify_mac(mak, codec.mac_input(req.frame.body), bytes.fromhex(mac_hex))


def reply_fields(req: Request, reply: Reply) -> Fields:
    out: Fields = {"t": reply_mti(req.mti)}
    for key in ECHOED:
        if key in req.fields:
            out[key] = req.fields[key]
    out.update(reply.fields)
    out["39"] = reply.code
    return out


def encode_reply(req: Request, reply: Reply, *, sign_on: bool = False) -> bytes:
    fields = reply_fields(req, reply)
    # An approval is MACed when its request was: a request without field 64 only gets this
    # far as a settlement the ``settlement_mac = optional`` policy let in, from a terminal
    # that cannot check a MAC either (it gets the protocol page's bare 0510 / 0330).
    maced = (
        reply.code == "00"
        and fields["t"] in MACED_MTIS
        and reply.mak is not None
        and "64" in req.fields
    )
    if maced:
        fields["64"] = codec.MAC_PLACEHOLDER
    body = codec.encode(fields)
    if maced:
        assert reply.mak is not None
        body = codec.with_mac(body, unionpay_ecb_mac(reply.mak, codec.mac_input(body)))
    requirement = Requirement.SIGN_ON if (reply.sign_on or sign_on) else Requirement.NONE
    header: Header = req.frame.header.with_requirement(requirement)
    return Frame(req.frame.tpdu.swapped(), header, body).to_bytes()


def encode_error_reply(frame: Frame, partial: Fields, code: str) -> bytes | None:
    """A ``30`` answer to a request whose fields could not all be read; None if unanswerable."""
    mti = partial.get("t", "")
    if len(mti) != 4 or mti[2] not in "02468" or mti[3] != "0":
        return None
    out: Fields = {"t": reply_mti(mti), "39": code}
    for key in ("3", "4", "11", "41", "42", "60"):
        if key in partial:
            out[key] = partial[key]
    try:
        body = codec.encode(out)
    except EncodeError:
        return None
    return Frame(frame.tpdu.swapped(), frame.header, body).to_bytes()
