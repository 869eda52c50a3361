"""Bad frames cannot fill the disk (issue 10): format errors and bad MACs are counted per
terminal and kind and sampled, not written a ``host_events`` row each.

A real host on a SQLite ledger takes 5,000 bad frames over real sockets: format errors that
name the registered terminal, random unregistered TIDs or no TID at all; sales under the
registered TID with a wrong MAC key, and under random TIDs. Afterwards the ledger holds a
counter per source and kind that adds up to what was sent, a sample no larger than
configured, and no clear card number.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from possettle.crypto.keys import generate_key
from possettle.iso8583 import codec
from possettle.iso8583.framing import FrameReader
from possettle.ledger.engine import create_engine_for
from possettle.ledger.migrate import init_db
from possettle.ledger.schema import bad_frame_counts, bad_frame_samples, host_events
from possettle.link import requests as m
from possettle.link.client import Link
from tests.host.harness import KEYS, MID, PAN, TID, TMK, RunningHost, register, running_host
from tests.host.test_bad_input import frame_of
from tests.host.test_push_over import metric, until

SAMPLE = 40
# the two pools of sources that are not registered TIDs (never 8 characters, as a TID is)
UNKNOWN, UNREGISTERED = "unknown", "unregistered"
OTHER_TID = "87654321"  # registered too, never sends anything
PATIENCE = 120.0


def sale(tid: str, stan: int, *, mak: object = None) -> bytes:
    link = Link("127.0.0.1", 0, tid, MID, TMK)
    link.mak = mak  # type: ignore[assignment]
    return link.encode(m.sale(tid, MID, stan, 1, pan=PAN, amount=1_00, expiry="3012"))


def truncated(frame: bytes) -> bytes:
    """The frame with its last 4 body bytes cut (and its length told right): a format
    error after field 41 was read."""
    return frame_of(frame[13:-4])


def bitmap_lie(frame: bytes) -> bytes:
    """An undefined bitmap bit: a format error before any field (no TID readable)."""
    body = frame[13:]
    return frame_of(body[:2] + bytes([body[2] | 0x08]) + body[3:])


def flood() -> tuple[list[bytes], Counter[tuple[str, str]], Counter[str]]:
    """5,000 bad frames, what the ledger must count for them, and the replies they get."""
    wrong = generate_key(16)
    frames: list[bytes] = []
    counted: Counter[tuple[str, str]] = Counter()
    replies: Counter[str] = Counter()

    def add(frame: bytes, source: str | None, kind: str | None, code: str) -> None:
        frames.append(frame)
        if source is not None and kind is not None:
            counted[(source, kind)] += 1
        replies[code] += 1

    for n in range(1, 1001):  # format errors naming the registered terminal (with a PAN)
        add(truncated(sale(TID, n)), TID, "format_error", "30")
    for n in range(1500):  # format errors under 1,500 different unregistered TIDs
        add(truncated(sale(f"R{n:07d}", n + 1)), UNREGISTERED, "format_error", "30")
    for n in range(1000):  # format errors with no TID to read
        add(bitmap_lie(sale(TID, n + 1)), UNKNOWN, "format_error", "30")
    for n in range(1000):  # sales with a wrong MAC under the registered, signed-on TID
        add(sale(TID, 2000 + n, mak=wrong), TID, "mac_error", "A0")
    for n in range(500):  # ... and under unregistered TIDs: refused 97, no bad frame
        add(sale(f"Q{n:07d}", n + 1, mak=wrong), None, None, "97")
    return frames, counted, replies


async def pipeline(port: int, frames: list[bytes]) -> Counter[str]:
    """Send ``frames`` on one connection while reading every reply; their codes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    codes: Counter[str] = Counter()

    async def send() -> None:
        for i in range(0, len(frames), 50):
            writer.write(b"".join(frames[i : i + 50]))
            await writer.drain()

    sender = asyncio.create_task(send())
    got = FrameReader()
    async with asyncio.timeout(PATIENCE):
        while sum(codes.values()) < len(frames):
            data = await reader.read(65536)
            assert data, f"host closed after {sum(codes.values())} replies"
            codes.update(codec.decode(f.body)["39"] for f in got.feed(data))
    await sender
    writer.close()
    return codes


def ledger(url: str, query: sa.Select[tuple[int]]) -> int:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def rows(url: str, table: sa.Table) -> int:
    return ledger(url, sa.select(sa.func.count()).select_from(table))


def counters(url: str) -> Counter[tuple[str, str]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.select(bad_frame_counts))
            return Counter({(r.source, r.kind): int(r.frames) for r in found})
    finally:
        engine.dispose()


async def signed_on(host: RunningHost) -> None:
    link = host.link()
    try:
        await link.connect()
        assert (await link.sign_on()).code == "00"
    finally:
        await link.close()


async def test_a_flood_of_bad_frames_is_counted_and_sampled_not_written_a_row_each(
    tmp_path: Path, sqlite_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(sqlite_url, key_file, {TID: KEYS["tmk"], OTHER_TID: KEYS["tmk"]})
    frames, expected, replies = flood()
    assert len(frames) == 5_000
    async with running_host(sqlite_url, key_file, bad_frame_sample_size=SAMPLE) as host:
        await signed_on(host)  # a MAC is checked only for a signed-on terminal
        events = rows(sqlite_url, host_events)
        writes = host.server.db.writer.stats.ops
        shares = [frames[i::5] for i in range(5)]
        got = sum(
            await asyncio.gather(*(pipeline(host.port, share) for share in shares)), Counter()
        )
        assert got == replies
        # Nothing of it became a host event, and the ledger was written a few times, not
        # once a frame (a write per interval, one more when 1,024 TIDs waited)
        assert rows(sqlite_url, host_events) == events
        assert host.server.db.writer.stats.ops - writes < len(frames) // 10
        # the counters reach the ledger on their interval, while the host runs
        await until(lambda: counters(sqlite_url) == expected, "the counters written")
        assert metric(host, "possettle_host_bad_frames_total", "format_error") == 3_500
        assert metric(host, "possettle_host_bad_frames_total", "mac_error") == 1_000
    assert counters(sqlite_url) == expected
    assert rows(sqlite_url, bad_frame_samples) <= SAMPLE
    assert rows(sqlite_url, bad_frame_counts) == len(expected)  # 4: no row per random TID
    s = bad_frame_samples.c
    pooled = ledger(
        sqlite_url,
        sa.select(sa.func.count())
        .select_from(bad_frame_samples)
        .where(s.source.in_((UNKNOWN, UNREGISTERED))),
    )
    assert pooled <= SAMPLE // 2  # a storm of garbage cannot evict a terminal's evidence
    ledger_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.db*"))  # noqa: ASYNC240
    assert PAN.encode() not in ledger_bytes  # the samples are masked


async def test_a_second_flood_adds_to_the_counters_and_the_sample_stays_bounded(
    tmp_path: Path, db_url: str
) -> None:
    key_file = tmp_path / "host.key"
    await register(db_url, key_file)
    frames = [truncated(sale(TID, n)) for n in range(1, 301)]
    for _ in range(2):  # two host runs: the counters carry on, the sample does not grow
        async with running_host(
            db_url, key_file, bad_frame_sample_size=SAMPLE, bad_frame_flush_interval=0.05
        ) as host:
            assert (await pipeline(host.port, frames)) == Counter({"30": 300})
    assert counters(db_url) == Counter({(TID, "format_error"): 600})
    assert rows(db_url, bad_frame_samples) == SAMPLE


def test_retention_keeps_the_newest_samples_and_drops_what_is_old(db_url: str) -> None:
    from possettle.ledger.bad_frames import Sample, Tally, prune, write_bad_frames
    from possettle.ledger.kinds import BadFrameKind

    fmt, mac = BadFrameKind.FORMAT_ERROR, BadFrameKind.MAC_ERROR
    t0, sec, day = datetime(2026, 1, 1, tzinfo=UTC), timedelta(seconds=1), timedelta(days=1)
    init_db(db_url)
    engine = create_engine_for(db_url)
    s, c = bad_frame_samples.c, bad_frame_counts.c
    try:
        with engine.begin() as conn:
            # two writes of five format errors with no TID; pooled samples may fill half
            for first in (0, 5):
                batch = [Sample(t0 + n * sec, None, fmt, "30", f'{{"n": {n}}}') for n in
                         range(first, first + 5)]  # fmt: skip
                tally = {(None, fmt): Tally(5, batch[0].at, batch[-1].at)}
                write_bad_frames(conn, tally, batch, keep=6, oldest=t0 - day)
            assert conn.execute(sa.select(s.detail).order_by(s.id)).scalars().all() == [
                '{"n": 7}', '{"n": 8}', '{"n": 9}'
            ]  # fmt: skip
            row = conn.execute(sa.select(bad_frame_counts)).one()
            assert (row.source, row.kind, row.frames) == (UNKNOWN, "format_error", 10)
            assert (row.first_at, row.last_at) == (t0, t0 + 9 * sec)
            # nine days later, with seven days' retention: only the new MAC error is left
            later = [Sample(t0 + 9 * day, None, mac, "A0", "{}")]
            tally = {(None, mac): Tally(1, later[0].at, later[0].at)}
            write_bad_frames(conn, tally, later, keep=3, oldest=t0 + 2 * day)
            assert conn.execute(sa.select(s.kind)).scalars().all() == ["mac_error"]
            assert conn.execute(sa.select(c.kind)).scalars().all() == ["mac_error"]
            prune(conn, keep=0, oldest=t0)
            assert conn.execute(sa.select(s.id)).scalars().all() == []
    finally:
        engine.dispose()
