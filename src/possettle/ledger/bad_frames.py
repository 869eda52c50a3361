"""Bad frames in the ledger: a counter per source and kind, a bounded sample, a retention rule.

A format error (``30``) or a MAC error (``A0``) books nothing and proves nothing about its
sender, so it must not cost a row each (issue 10: 135,000 bad frames grew a ledger by 44 MB).
The host gathers them in memory (:mod:`possettle.host.bad_frames`) and hands them here in one
write per interval:

* ``bad_frame_counts``: one row per *source* and kind. A source is a registered TID, or one of
  two pools that can never be a TID (field 41 is 8 characters): :data:`UNKNOWN` (no TID
  could be read) and :data:`UNREGISTERED` (a TID the registry does not have) — so a sender
  choosing TIDs cannot create rows.
* ``bad_frame_samples``: the most recent frames with their masked detail, at most ``keep``
  rows, of which at most half from the pools (a storm of garbage cannot evict what the
  doctor needs of a real terminal).
* retention: samples, and counters not incremented, older than ``oldest`` are deleted.

Readers (the doctor, the console) ask :func:`count_since`, :func:`sources_since` and
:func:`marks`; old ``host_events`` rows of these kinds were moved here by migration 0004.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.ledger.kinds import BadFrameKind
from possettle.ledger.queries import dialect_insert
from possettle.ledger.schema import bad_frame_counts, bad_frame_samples, terminals

UNKNOWN = "unknown"  # no TID could be read from the frame
UNREGISTERED = "unregistered"  # a TID the registry does not have
POOLS = (UNKNOWN, UNREGISTERED)
TID_LENGTH = 8
_CHUNK = 500  # TIDs per IN (...) list


@dataclass(frozen=True, slots=True)
class Tally:
    count: int
    first_at: datetime
    last_at: datetime

    def plus(self, other: Tally) -> Tally:
        return Tally(
            self.count + other.count,
            min(self.first_at, other.first_at),
            max(self.last_at, other.last_at),
        )


@dataclass(frozen=True, slots=True)
class Sample:
    """One bad frame as it is kept: ``tid`` as the frame named it (None: unreadable)."""

    at: datetime
    tid: str | None
    kind: BadFrameKind
    code: str
    detail: str  # masked JSON


@dataclass(frozen=True, slots=True)
class Mark:
    """A moment a source is known to have sent a bad frame of ``kind`` (console, settlements)."""

    tid: str
    at: datetime
    kind: str
    response_code: str


#: what the host gathered since its last write: (TID as named, or None; kind) -> tally
Tallies = Mapping[tuple[str | None, BadFrameKind], Tally]


def registered_among(conn: Connection, names: Iterable[str]) -> set[str]:
    """The names that are registered TIDs (one indexed query per 500)."""
    wanted = sorted({n for n in names if len(n) == TID_LENGTH})
    found: set[str] = set()
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        found.update(
            conn.execute(sa.select(terminals.c.tid).where(terminals.c.tid.in_(chunk))).scalars()
        )
    return found


def _source(tid: str | None, registered: Collection[str]) -> str:
    if not tid:
        return UNKNOWN
    return tid if tid in registered else UNREGISTERED


def write_bad_frames(
    conn: Connection,
    tallies: Tallies,
    samples: Sequence[Sample],
    *,
    keep: int,
    oldest: datetime,
) -> None:
    """Add ``tallies`` to the counters, the ``samples`` to the sample, then apply retention."""
    names = [t for t, _ in tallies if t] + [s.tid for s in samples if s.tid]
    registered = registered_among(conn, names)
    merged: dict[tuple[str, BadFrameKind], Tally] = {}
    for (tid, kind), tally in tallies.items():
        key = (_source(tid, registered), kind)
        merged[key] = merged[key].plus(tally) if key in merged else tally
    c = bad_frame_counts.c
    if merged:
        stmt = dialect_insert(conn, bad_frame_counts)
        new = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.source, c.kind],
            set_={
                "frames": c.frames + new.frames,
                "first_at": sa.case((new.first_at < c.first_at, new.first_at), else_=c.first_at),
                "last_at": sa.case((new.last_at > c.last_at, new.last_at), else_=c.last_at),
            },
        )
        conn.execute(
            stmt,
            [
                {"source": s, "kind": k.value, "frames": t.count, "first_at": t.first_at,
                 "last_at": t.last_at}
                for (s, k), t in merged.items()
            ],
        )  # fmt: skip
    kept = samples[-keep:] if keep > 0 else []
    if kept:
        conn.execute(
            sa.insert(bad_frame_samples),
            [
                {"at": s.at, "source": _source(s.tid, registered), "kind": s.kind.value,
                 "response_code": s.code, "detail": s.detail}
                for s in kept
            ],
        )  # fmt: skip
    prune(conn, keep=keep, oldest=oldest)


def prune(conn: Connection, *, keep: int, oldest: datetime) -> None:
    """The retention rule: nothing older than ``oldest``; at most ``keep`` samples, at most
    half of them pooled."""
    s = bad_frame_samples.c
    conn.execute(sa.delete(bad_frame_samples).where(s.at < oldest))
    conn.execute(sa.delete(bad_frame_counts).where(bad_frame_counts.c.last_at < oldest))
    _keep_newest(conn, max(keep // 2, 1) if keep > 0 else 0, s.source.in_(POOLS))
    _keep_newest(conn, keep, sa.true())


def _keep_newest(conn: Connection, keep: int, among: sa.ColumnElement[bool]) -> None:
    s = bad_frame_samples.c
    if keep <= 0:
        conn.execute(sa.delete(bad_frame_samples).where(among))
        return
    # the id of the keep-th newest row (NULL when there are fewer: nothing is deleted)
    boundary = (
        sa.select(s.id).where(among).order_by(s.id.desc()).offset(keep - 1).limit(1)
    ).scalar_subquery()
    conn.execute(sa.delete(bad_frame_samples).where(among, s.id < boundary))


# ----------------------------------------------------------------------------- readers


def count_since(conn: Connection, source: str, since: datetime | None) -> dict[str, int]:
    """Per kind, how many bad frames ``source`` sent after ``since`` (None: ever).

    Exact when the counter started after ``since``; otherwise the samples after ``since``
    are counted, and at least one when the counter's last frame is after ``since`` (its
    samples may have been evicted): a lower bound, never a frame that was not seen.
    """
    c, s = bad_frame_counts.c, bad_frame_samples.c
    found: dict[str, int] = {}
    for row in conn.execute(sa.select(bad_frame_counts).where(c.source == source)):
        if since is None or row.first_at > since:
            found[row.kind] = int(row.frames)
        elif row.last_at > since:
            sampled = conn.execute(
                sa.select(sa.func.count())
                .select_from(bad_frame_samples)
                .where(s.source == source, s.kind == row.kind, s.at > since)
            ).scalar_one()
            found[row.kind] = max(int(sampled), 1)
    return found


def sources_since(conn: Connection, kind: str, since: datetime) -> set[str]:
    """The registered TIDs that sent a bad frame of ``kind`` after ``since``."""
    c = bad_frame_counts.c
    rows = conn.execute(sa.select(c.source).where(c.kind == kind, c.last_at >= since)).scalars()
    return {str(r) for r in rows if r not in POOLS}


def marks(conn: Connection, tid: str | None = None) -> list[Mark]:
    """Known moments of bad frames from registered terminals (or one): every sample, and
    each counter's first and last frame; oldest first."""
    c, s = bad_frame_counts.c, bad_frame_samples.c
    found: dict[tuple[str, datetime, str], Mark] = {}
    samples = sa.select(s.source, s.at, s.kind, s.response_code).where(s.source.not_in(POOLS))
    counts = sa.select(c.source, c.first_at, c.last_at, c.kind).where(c.source.not_in(POOLS))
    if tid is not None:
        samples, counts = samples.where(s.source == tid), counts.where(c.source == tid)
    for r in conn.execute(samples):
        found[(r.source, r.at, r.kind)] = Mark(r.source, r.at, r.kind, r.response_code)
    for r in conn.execute(counts):
        code = _CODES.get(r.kind, "")
        for at in (r.first_at, r.last_at):
            found.setdefault((r.source, at, r.kind), Mark(r.source, at, r.kind, code))
    return sorted(found.values(), key=lambda m: m.at)


#: the reply each kind gets (a counter's ends carry no code of their own)
_CODES = {BadFrameKind.FORMAT_ERROR.value: "30", BadFrameKind.MAC_ERROR.value: "A0"}


def samples_of(conn: Connection, source: str, limit: int) -> list[sa.Row[tuple[object, ...]]]:
    """The newest samples of ``source``, newest first."""
    s = bad_frame_samples.c
    stmt = sa.select(bad_frame_samples).where(s.source == source)
    return list(conn.execute(stmt.order_by(s.id.desc()).limit(limit)))
