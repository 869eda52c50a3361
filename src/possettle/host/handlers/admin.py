"""Network management: 0800 sign-on, 0820 echo / sign-off / status report (protocol §3, §6)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from possettle.host.context import HostContext
from possettle.host.edits import get_merchant
from possettle.host.handlers.common import base_reply_fields
from possettle.host.request import Reply, Request, host_time_fields
from possettle.iso8583 import merchant_info
from possettle.iso8583.fields import Field60, NetworkCode, TxnType
from possettle.ledger.queries import get_policy
from possettle.ledger.schema import terminal_reports
from possettle.ledger.terminal_state import (
    TerminalState,
    record_event,
    sign_off,
    store_session_keys,
    touch,
)
from possettle.status_report import StatusReport, problems


async def sign_on(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    now = ctx.clock.now()
    version = req.frame.header.sub_version
    minimum = await ctx.db.lookup(lambda c: get_policy(c, "min_version", "000000"))
    if version < minimum:
        await ctx.db.write(
            lambda c: record_event(
                c,
                now,
                "refused",
                tid=req.tid,
                code="58",
                detail=json.dumps({"version": version, "min_version": minimum}),
            )
        )
        return Reply("58", {**host_time_fields(now), "63": f"MINVER={minimum}"})
    keys, field62 = ctx.issue_keys(state.tmk)
    rrn = await ctx.rrns.next()

    def book(conn: Connection) -> int:
        batch = store_session_keys(
            conn, ctx.db.vault, req.tid, keys.pik, keys.mak, at=now, software_version=version
        )
        record_event(conn, now, "signon", tid=req.tid, detail=json.dumps({"version": version}))
        return batch

    batch = await ctx.db.write(book)
    fields = base_reply_fields(ctx, now, rrn)
    del fields["15"]
    fields["60"] = str(Field60(TxnType.MANAGEMENT, batch, NetworkCode.SIGN_ON))
    fields["62"] = (field62 + await _merchant_info(ctx, req, state)).hex().upper()
    return Reply("00", fields)


async def _merchant_info(ctx: HostContext, req: Request, state: TerminalState) -> bytes:
    """possettle's extension: the name and address after the keys, when the 0800 asks."""
    tags = merchant_info.wanted(req.fields.get("62"))
    if not tags:
        return b""
    row = await ctx.db.lookup(lambda c: get_merchant(c, state.mid))
    return merchant_info.encode(merchant_info.MerchantInfo(row.name, row.address), tags)


async def echo(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    now = ctx.clock.now()
    await ctx.db.write(lambda c: touch(c, req.tid, now))
    return Reply("00", host_time_fields(now))


async def sign_off_(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    now = ctx.clock.now()

    def book(conn: Connection) -> None:
        sign_off(conn, req.tid)
        record_event(conn, now, "signoff", tid=req.tid)

    await ctx.db.write(book)
    return Reply("00", host_time_fields(now))


async def status_report(ctx: HostContext, req: Request, state: TerminalState) -> Reply:
    """Field 62 carries the terminal's latest health report as compact UTF-8 JSON.

    Only a report that fits :class:`StatusReport` is stored (card numbers in its free text
    masked); anything else is answered 30, recorded as a refusal naming what is wrong (never
    the value), and the last good report stays.
    """
    now = ctx.clock.now()
    try:
        report = StatusReport.parse(bytes.fromhex(req.fields.get("62", "")))
    except ValueError as exc:  # bad hex, too long, not JSON, or not the contract
        detail = json.dumps({"report": problems(exc)[:5]}, ensure_ascii=False)
        await ctx.db.write(
            lambda c: record_event(c, now, "report_refused", tid=req.tid, code="30", detail=detail)
        )
        return Reply("30")
    text = report.stored()

    def book(conn: Connection) -> None:
        conn.execute(sa.delete(terminal_reports).where(terminal_reports.c.tid == req.tid))
        conn.execute(sa.insert(terminal_reports).values(tid=req.tid, received_at=now, report=text))
        touch(conn, req.tid, now)

    await ctx.db.write(book)
    return Reply("00", host_time_fields(now))
