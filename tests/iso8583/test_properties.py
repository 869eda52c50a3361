from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from possettle.iso8583 import codec
from possettle.iso8583.fields import (
    Field60,
    Field61,
    HalfTotals,
    NetworkCode,
    SettlementTotals,
    SettleResult,
    TxnType,
    UploadRecord,
    format_upload_records,
    parse_upload_records,
)
from possettle.iso8583.framing import Frame, FrameReader, Header, Tpdu

digits = lambda n: st.text("0123456789", min_size=n, max_size=n)  # noqa: E731
var_digits = lambda lo, hi: st.text("0123456789", min_size=lo, max_size=hi)  # noqa: E731
ans = lambda n: st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=n, max_size=n)  # noqa: E731

messages = st.fixed_dictionaries(
    {"t": st.sampled_from(["0200", "0210", "0220", "0400", "0500", "0320", "0800"])},
    optional={
        "2": var_digits(13, 19),
        "3": digits(6),
        "4": digits(12),
        "11": digits(6),
        "12": digits(6),
        "14": digits(4),
        "22": digits(3),
        "23": digits(3),
        "32": var_digits(1, 11),
        "37": ans(12),
        "39": ans(2),
        "41": ans(8),
        "42": ans(15),
        "48": var_digits(0, 322),
        "52": st.binary(min_size=8, max_size=8).map(lambda b: b.hex().upper()),
        "55": st.binary(max_size=255).map(lambda b: b.hex().upper()),
        "60": var_digits(11, 30),
        "61": var_digits(12, 16),
        "62": st.binary(max_size=512).map(lambda b: b.hex().upper()),
        "63": st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=63),
        "64": st.binary(min_size=8, max_size=8).map(lambda b: b.hex().upper()),
    },
)


@given(messages)
def test_any_valid_message_round_trips(message: dict[str, str]) -> None:
    assert codec.decode(codec.encode(message)) == message


@given(messages, st.lists(st.integers(1, 50), max_size=20))
def test_frames_survive_any_split_of_the_stream(message: dict[str, str], cuts: list[int]) -> None:
    raw = Frame(Tpdu(), Header(), codec.encode(message)).to_bytes()
    reader, frames, pos = FrameReader(), [], 0
    for cut in cuts:
        frames += reader.feed(raw[pos : pos + cut])
        pos += cut
    frames += reader.feed(raw[pos:])
    assert [codec.decode(f.body) for f in frames] == [message]


halves = st.builds(
    HalfTotals,
    st.integers(0, 10**12 - 1),
    st.integers(0, 999),
    st.integers(0, 10**12 - 1),
    st.integers(0, 999),
    st.sampled_from(list(SettleResult)),
)


@given(halves, halves)
def test_settlement_totals_round_trip(dom: HalfTotals, fgn: HalfTotals) -> None:
    t = SettlementTotals(dom, fgn)
    assert SettlementTotals.parse(str(t)) == t


records = st.builds(
    UploadRecord,
    st.booleans(),
    st.integers(1, 999999),
    st.text("0123456789", min_size=13, max_size=19).map(lambda s: "6" + s[1:]),
    st.integers(0, 10**12 - 1),
)


@given(st.lists(records, max_size=8))
def test_upload_records_round_trip(recs: list[UploadRecord]) -> None:
    assert parse_upload_records(format_upload_records(recs)) == recs


@given(st.sampled_from(list(TxnType)), st.integers(0, 999999), st.sampled_from(list(NetworkCode)))
def test_field60_round_trips(txn: TxnType, batch: int, code: NetworkCode) -> None:
    f = Field60(txn, batch, code)
    assert Field60.parse(str(f)) == f


@given(st.integers(0, 999999), st.integers(0, 999999), st.one_of(st.none(), digits(4)))
def test_field61_round_trips(batch: int, stan: int, date: str | None) -> None:
    f = Field61(batch, stan, date)
    assert Field61.parse(str(f)) == f
