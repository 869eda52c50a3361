"""From facts to signals: each signal a key of likelihoods.FACTORS with the evidence behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from possettle.doctor.facts import JournalFacts
from possettle.doctor.hostview import HostFacts
from possettle.doctor.model import Evidence
from possettle.doctor.probes import LinkProbe, PrinterProbe, ReaderProbe
from possettle.iso8583.codes import describe, issuer_down_codes
from possettle.link.failure import LinkFailure
from possettle.terminal.journal.events import (
    BatchMismatch,
    Event,
    EventKind,
    KeyCheckFailed,
    NoReply,
    PrintFailed,
    Refusal,
    ReversalStuck,
    SignOnRefused,
    SoftwareCrashed,
    UncleanShutdown,
)
from possettle.terminal.operations.settlement import confirms
from possettle.terminal.printer.status import PrinterCode

NEARLY_FULL = 0.9
AT_LIMIT_PAGES = 2  # within this many pages of the limit, the next transaction cannot be written
MIN_FREE_BYTES = 1 << 20  # less than this free on the device: the journal cannot grow
REVERSAL_STUCK_ATTEMPTS = 3
CLOCK_SKEW_S = 300.0
REGION_DARK_SHARE = 0.5
#: the signal of a permission refusal that may name a minimum software version in field 63
MINVER_CODE_SIGNAL = "code.58"


@dataclass
class Signals:
    seen: dict[str, list[Evidence]] = field(default_factory=dict)
    ruled_out: list[str] = field(default_factory=list)
    # The settlement step that was in flight when work stopped without a settle_failed row
    # (a power cut or crash mid-settlement): the step a diagnosis names when nothing else does.
    step: str | None = None

    def add(self, key: str, ev: Evidence) -> None:
        self.seen.setdefault(key, []).append(ev)


def _ev(source: str, key: str, value: object, en: str, zh: str) -> Evidence:
    return Evidence(source, key, value, en, zh)


#: what a printer code says, in the evidence's sentences (English, Chinese)
PRINTER_SAYS: dict[PrinterCode, tuple[str, str]] = {
    PrinterCode.PAPER_OUT: ("out of paper", "缺纸"),
    PrinterCode.COVER_OPEN: ("cover open", "纸仓盖打开"),
    PrinterCode.OFFLINE: ("offline, not answering", "离线，无响应"),
    PrinterCode.CUTTER_JAM: ("cutter jammed", "切刀卡纸"),
    PrinterCode.OVERHEAT: ("print head too hot", "打印头过热"),
    PrinterCode.FAULT: ("an error it cannot recover from", "无法自行恢复的故障"),
    PrinterCode.IO_ERROR: ("stopped answering mid-job", "打印中途通信中断"),
}


@dataclass(frozen=True)
class Inputs:
    journal: JournalFacts
    printer: PrinterProbe
    reader: ReaderProbe
    link: LinkProbe
    host: HostFacts | None
    now: datetime


def collect(i: Inputs) -> Signals:
    s = Signals()
    st = i.journal.settlement
    if st is not None and st.step.value != "done":
        s.step = st.step.value
    _device(i, s)
    _readiness(i, s)
    _failure(i, s)
    _journal_events(i, s)
    _link(i, s)
    if i.host is not None:
        _host(i, s)
    _clean_device(i, s)
    return s


def _device(i: Inputs, s: Signals) -> None:
    j = i.journal
    if isinstance(i.printer, PrinterCode):
        code = i.printer
        s.add(f"printer.{code.value}", _ev("probe", "printer.state", code.value,
              f"The printer reports: {PRINTER_SAYS[code][0]}.", f"打印机报告：{PRINTER_SAYS[code][1]}。"))  # fmt: skip
    if i.reader not in ("ok", "unknown"):
        s.add("reader.fault", _ev("probe", "reader.state", i.reader,
              f"The card reader reports: {i.reader}.", f"读卡器报告：{i.reader}。"))  # fmt: skip
    if j.integrity_ok is False or (not j.readable and j.error):
        s.add("storage.corrupt", _ev("probe", "journal.integrity", j.error or "failed",
              f"The journal fails its integrity check: {j.error or 'quick_check failed'}.",
              "交易流水未通过完整性校验。"))  # fmt: skip
    if j.max_pages:
        # Pages in use against the limit: the file size alone says little (WAL, free pages).
        fill = j.used_pages / j.max_pages
        key = (
            "storage.at_limit"
            if j.used_pages >= j.max_pages - AT_LIMIT_PAGES
            else ("storage.nearly_full" if fill >= NEARLY_FULL else "")
        )
        if key:
            s.add(key, _ev("probe", "journal.fill", round(fill, 3),
                  f"The journal is at {fill:.0%} of its size limit ({j.used_pages} of {j.max_pages} pages).",
                  f"交易流水已用 {fill:.0%} 的容量上限（{j.max_pages} 页中的 {j.used_pages} 页）。"))  # fmt: skip
    if j.readable and j.free_bytes < MIN_FREE_BYTES:
        s.add("storage.at_limit", _ev("probe", "disk.free_bytes", j.free_bytes,
              f"Only {j.free_bytes} bytes are free on the device.", f"设备仅剩 {j.free_bytes} 字节可用空间。"))  # fmt: skip


def _readiness(i: Inputs, s: Signals) -> None:
    """A terminal that never signed on has no working keys and cannot trade, however well
    the host answers: not ready, never healthy."""
    if i.journal.readable and i.journal.never_signed_on:
        s.add("keys.never_signed_on", _ev("journal", "signed_on_at", None,
              "never signed on: the terminal has no working keys and cannot trade yet",
              "未签到：终端尚无工作密钥，不能交易"))  # fmt: skip


def _clean_device(i: Inputs, s: Signals) -> None:
    """What the device probes and the journal rule out by looking healthy (after every other
    signal is in, so nothing with evidence of its own is ruled out here)."""
    j = i.journal
    if i.printer == "ok" and not j.print_queue:
        s.ruled_out += ["printer.paper_out", "printer.fault"]
    if i.reader == "ok":
        s.ruled_out.append("reader.fault")
    if j.readable and j.integrity_ok:
        s.ruled_out.append("storage.corrupt")
        if not ({"storage.at_limit", "storage.nearly_full", "storage.full"} & set(s.seen)):
            s.ruled_out.append("storage.full")
    if j.readable and "software.crash_record" not in s.seen:
        s.ruled_out.append("software.crash")
    if j.readable and not j.reversals:
        s.ruled_out.append("reversal.stuck")
    if j.signed_on and "keys.check_failed" not in s.seen and "code.A0" not in s.seen:
        s.ruled_out.append("keys.out_of_sync")


def _failure(i: Inputs, s: Signals) -> None:
    f = i.journal.failure
    if f is None:
        return
    code, message, step = f.code, f.message, f.step
    value: dict[str, object] = {"step": step, "code": code}
    if f.link:
        value["link_failure"] = f.link_failure.value if f.link_failure else None
    ev = _ev("journal", "settle_failed", value,
             f"The settlement failed at step {step}: {message}.", f"结算在 {step} 步骤失败：{message}。")  # fmt: skip
    if f.link:
        # How the link failed, as the link decided it where the socket error was caught
        # (link/failure.py): a refusal (the host's side answered with a reset) apart from a
        # connect that got no answer or had no route (the local link: a cable or Wi-Fi
        # outage), a reply lost after the request left, a connection reset mid-exchange. A
        # row from a version that did not record it is ``unknown``.
        kind = f.link_failure
        signal = (
            "settle.link.unknown"
            if kind is None
            else {
                LinkFailure.REFUSED: "settle.link.refused",
                LinkFailure.TIMEOUT: "settle.link.timeout",
                LinkFailure.NO_ROUTE: "settle.link.no_route",
                LinkFailure.LOST_REPLY: "settle.link.lost_reply",
                LinkFailure.RESET: "settle.link.reset",
            }[kind]
        )
        s.add(signal, ev)
    elif code and describe(code).issuer_down:
        # 91/96/98... to a message of the settlement itself (sign-on, 0500, 0320, upload end):
        # no issuer is asked for those, so it is the host's own trouble, which nothing here
        # explains further (it is evidence for "external.undetected", not the issuer).
        s.add("settle.system_error", ev)
    elif code:
        _code(s, code, ev, settle=True)


def _code(
    s: Signals, code: str, ev: Evidence, *, settle: bool = False, minver: bool = False
) -> None:
    """The signal the code table (iso8583/codes.py) gives a host answer; ``minver``: the
    answer named a minimum software version (field 63, read by the journal's schema)."""
    rc = describe(code)
    signal = rc.doctor_signal
    if signal is None or (rc.settle_only and not settle):
        return
    if signal == MINVER_CODE_SIGNAL and minver:
        signal = f"{signal}.minver"
    s.add(signal, ev)


def _window(j: JournalFacts) -> list[Event]:
    """The events that may bear on the current state: since the latest settlement began, or,
    once it is done, since it finished (what went wrong during a finished settlement is
    history). Events are also weighed against the state they describe (below)."""
    st = j.settlement
    if st is None:
        return j.events[:100]
    since = st.finished_at if st.step.value == "done" and st.finished_at else st.started_at
    return [e for e in j.events if e.at >= since]


def _after_last(events: list[Event], kind: EventKind) -> list[Event]:
    """``events`` (newest first) newer than the latest event of ``kind``."""
    last = next((e.id for e in events if e.kind is kind), None)
    return events if last is None else [e for e in events if e.id > last]


def _batch_of(e: Event, current: int | None) -> int | None:
    """The batch an unclean stop happened in (the oldest journals did not record it)."""
    d = e.detail
    return d.batch if isinstance(d, UncleanShutdown) and d.batch is not None else current


def _journal_events(i: Inputs, s: Signals) -> None:
    j = i.journal
    recent = _window(j)
    settling = j.settlement is not None and j.settlement.step.value != "done"
    # Work a crash or power cut left behind. Once it is finished (resumed), the stop is
    # history, not a reason for anything now: only the open marker (nobody has opened the
    # journal since) or unfinished work keeps it a finding.
    interrupted = j.open_marker or settling or bool(j.reversals)
    # A stop recorded while another batch was open is that batch's history: the batch settled
    # since (journal timestamps are whole seconds, so the window alone cannot tell).
    batches = {j.batch, j.settlement.batch if j.settlement and settling else None}
    recent = [
        e for e in recent
        if e.kind is not EventKind.UNCLEAN_SHUTDOWN or _batch_of(e, j.batch) in batches
    ]  # fmt: skip
    kinds = {e.kind for e in recent}
    crash = next((e.detail for e in recent if isinstance(e.detail, SoftwareCrashed)), None)
    if crash is not None and interrupted:
        s.add("software.crash_record", _ev("journal", "software_crash", {"type": crash.type, "point": crash.point},
              f"The application crashed ({crash.type}) at {crash.point or 'an unknown point'}.",
              f"终端程序异常退出（{crash.type}）。"))  # fmt: skip
    if j.open_marker or (EventKind.UNCLEAN_SHUTDOWN in kinds and interrupted):
        s.add("power.unclean", _ev("journal", "unclean_shutdown", True,
              "The journal was not closed cleanly: the terminal stopped mid-work.",
              "交易流水未正常关闭：终端在操作中途停止。"))  # fmt: skip
    else:
        s.ruled_out.append("power.interrupted")
    # A sign-on that failed matters until a sign-on succeeds.
    unsigned = {e.id for e in _after_last(recent, EventKind.SIGNED_ON)}
    pending = {r.stan for r in j.reversals}
    for e in recent:
        kind, code, detail = e.kind, e.code, e.detail
        if isinstance(detail, PrintFailed) and j.print_queue:
            # Only while something still waits to print: a slip reprinted since is history.
            printer = detail.code
            s.add(f"print.failed.{printer.value}", _ev("journal", "print_failed", printer.value,
                  f"Printing failed: {PRINTER_SAYS[printer][0]}.", f"打印失败：{PRINTER_SAYS[printer][1]}。"))  # fmt: skip
        elif isinstance(detail, KeyCheckFailed) and e.id in unsigned:
            s.add("keys.check_failed", _ev("journal", "key_check_failed", detail.error,
                  "The working keys from the host failed their check values.",
                  "主机下发的工作密钥校验值不符。"))  # fmt: skip
        elif isinstance(detail, BatchMismatch) and detail.local == j.batch:
            # Still holding the batch the host does not expect.
            local, host = detail.local, detail.host
            s.add("batch.mismatch_event", _ev("journal", "batch_mismatch", {"local": local, "host": host},
                  f"The host expects batch {host}, the terminal holds {local}.",
                  f"主机期望批次 {host}，终端为 {local}。"))  # fmt: skip
        elif isinstance(detail, SignOnRefused) and e.id in unsigned:
            f63 = detail.field63
            _code(s, code, _ev("journal", "sign_on_refused", {"code": code, "field63": f63},
                  f"Sign-on refused with {code} {f63}".strip() + ".", f"签到被拒绝：{code} {f63}".strip() + "。"),
                  minver=detail.min_version is not None)  # fmt: skip
        elif isinstance(detail, Refusal):
            family = code.split(".")[0]
            key = {"operator": "refused.operator", "hours": "refused.hours",
                   "permission": "refused.permission", "limit": "refused.permission",
                   "input": "refused.input", "order": "refused.order",
                   "reader": "refused.reader"}.get(family)  # fmt: skip
            if family == "operator" and j.operator_failures.get(detail.operator_id or "") == 0:
                key = None  # a typo since mended: the operator logged in with the right password
            if code == "order.settlement_unfinished" and not settling:
                key = None  # the settlement it waited for has finished since
            st = j.settlement
            if (
                detail.operation == "settle"
                and st is not None
                and st.step.value == "done"
                and st.started_at >= e.at
            ):
                key = None  # a settlement went through after this refusal (a tie included:
                # a refused settlement never begins, so one that began then came after it)
            if code == "input.original" and detail.stan in j.voids_after_settlement:
                key = "refused.void_settled"  # a void after settlement: refund instead
            if key:
                s.add(key, _ev("journal", "refused", code, detail.en or code, detail.zh or code))
        elif isinstance(detail, ReversalStuck) and detail.stan in pending:
            s.add("reversal.stuck", _ev("journal", "reversal_stuck", {"batch": detail.batch, "stan": detail.stan, "attempts": detail.attempts},
                  f"A reversal (STAN {detail.stan}) could not be delivered after {detail.attempts} attempts.",
                  f"冲正（流水号 {detail.stan}）尝试 {detail.attempts} 次仍未送达。"))  # fmt: skip
        elif isinstance(detail, NoReply) and interrupted:
            s.add("link.no_reply", _ev("journal", "no_reply", detail.stan,
                  f"STAN {detail.stan} got no reply ({detail.link_failure or 'unknown'}): {detail.error}.",
                  f"流水号 {detail.stan} 无应答。"))  # fmt: skip
        elif kind is EventKind.STORAGE_FULL:
            s.add("storage.full", _ev("journal", "storage_full", True,
                  "A journal write failed: storage full.", "交易流水写入失败：存储已满。"))  # fmt: skip
    if (
        j.settlement is not None
        and j.settlement.result == "already_settled"
        and not confirms(j.settlement.host_totals or "")
    ):
        # A 0500 answered 94 and the host did not confirm it closed the batch on these totals
        # (causes.md): closed on the host's word, to be confirmed with the acquirer. A 94
        # that confirmed them is a settlement like any other.
        s.add("code.94.settle", _ev("journal", "settlement.result", j.settlement.result,
              f"The host had already closed batch {j.settlement.batch:06d} (94) and did not confirm the terminal's totals.",
              f"主机已关闭批次 {j.settlement.batch:06d}（94），且未确认本机金额。"))  # fmt: skip
    if j.settlement is not None and j.settlement.result == "balanced_after_upload":
        s.add("settle.unbalanced", _ev("journal", "settlement.result", j.settlement.result,
              f"Batch {j.settlement.batch:06d} was out of balance and needed a batch upload.",
              f"批次 {j.settlement.batch:06d} 对账不平，已批上送。"))  # fmt: skip
    for r in j.reversals:
        key = "reversal.stuck" if r.attempts >= REVERSAL_STUCK_ATTEMPTS else "reversal.pending"
        s.add(key, _ev("journal", "pending_reversal", {"stan": r.stan, "attempts": r.attempts},
              f"Reversal of STAN {r.stan:06d} pending after {r.attempts} attempts.",
              f"流水号 {r.stan:06d} 的冲正尝试 {r.attempts} 次仍待发送。"))  # fmt: skip
    for code, n in j.recent_codes.items():
        if code not in ("00", ""):
            _code(s, code, _ev("journal", "response_code", {"code": code, "count": n},
                  f"The host answered {code} {n} time(s) recently.", f"主机近期 {n} 次应答 {code}。"))  # fmt: skip
    if abs(j.clock_offset) > CLOCK_SKEW_S:
        s.add("clock.skew", _ev("journal", "clock_offset", j.clock_offset,
              f"The device clock was {j.clock_offset:+.0f} s off the host at the last sign-on.",
              f"上次签到时设备时钟与主机相差 {j.clock_offset:+.0f} 秒。"))  # fmt: skip


def _link(i: Inputs, s: Signals) -> None:
    p = i.link
    if p.connect == "skipped":
        return
    if p.connect == LinkFailure.REFUSED:
        s.add("probe.refused", _ev("probe", "link.connect", "refused",
              f"Connecting to the host now is refused: {p.error}.", "现在连接主机被拒绝。"))  # fmt: skip
    elif p.connect != "ok":  # no answer to the connect, or no route
        s.add("probe.timeout", _ev("probe", "link.connect", p.connect,
              f"Connecting to the host now fails ({p.connect}): {p.error}.", "现在无法连接主机。"))  # fmt: skip
    else:
        if p.loss > 0:
            s.add("probe.loss", _ev("probe", "link.echo_loss", round(p.loss, 2),
                  f"{p.echoes_sent - p.echoes_answered} of {p.echoes_sent} echo tests got no answer.",
                  f"{p.echoes_sent} 次回响测试中 {p.echoes_sent - p.echoes_answered} 次无应答。"))  # fmt: skip
        if p.echoes_answered:
            s.add("probe.ok", _ev("probe", "link.echo_ms", round(min(p.rtt_ms), 1),
                  f"The host answers echo tests now ({min(p.rtt_ms):.0f} ms).",
                  f"主机现在应答回响测试（{min(p.rtt_ms):.0f} 毫秒）。"))  # fmt: skip
            s.ruled_out += ["link.down", "host.unreachable"]
            if not p.loss:
                s.ruled_out.append("network.unstable")


def _host(i: Inputs, s: Signals) -> None:
    h = i.host
    assert h is not None
    if not h.registered:
        s.add("code.97", _ev("host", "terminal.registered", False,
              "The host has no such terminal.", "主机没有登记该终端。"))  # fmt: skip
        return
    if h.status != "active":
        s.add("code.restricted", _ev("host", "terminal.status", h.status,
              f"The host has this terminal {h.status}.", f"主机已将该终端设为 {h.status}。"))  # fmt: skip
    version = i.journal.config.version if i.journal.config else h.software_version
    if version and version < h.min_version:
        s.add("code.58.minver", _ev("host", "policy.min_version", {"version": version, "min": h.min_version},
              f"Software {version} is below the host's minimum {h.min_version}.",
              f"软件版本 {version} 低于主机要求的 {h.min_version}。"))  # fmt: skip
    else:
        s.ruled_out.append("software.outdated")
    # MAC errors since the host last issued working keys (a sign-on mends them).
    mac = h.bad_frames.get("mac_error", 0)
    if mac:
        s.add("host.mac_errors", _ev("host", "bad_frames.mac_error", mac,
              f"The host saw {mac} MAC error(s) from this terminal.", f"主机收到该终端 {mac} 次 MAC 错误。"))  # fmt: skip
    fmt = h.bad_frames.get("format_error", 0)
    if fmt:
        s.add("host.format_errors", _ev("host", "bad_frames.format_error", fmt,
              f"The host could not parse {fmt} message(s) from this terminal.",
              f"主机有 {fmt} 条该终端报文无法解析。"))  # fmt: skip
    # Seen from the host alone (no link probe: ``possettle doctor --host-db --tid``), a
    # terminal silent for longer than the dark-after window has stopped reporting.
    host_side = i.link.connect == "skipped"
    # (a terminal closed for the day — signed off, or settled with nothing since — is quiet
    # on purpose)
    silent = not h.closed_for_day and (
        h.last_seen_at is None or i.now - h.last_seen_at > h.dark_after
    )
    if host_side and silent and h.status == "active":
        age = None if h.last_seen_at is None else int((i.now - h.last_seen_at).total_seconds())
        s.add("telemetry.stale", _ev("host", "terminal.last_seen", age,
              "The host has never heard from this terminal." if age is None else
              f"The host last heard from this terminal {age // 60} min ago.",
              "主机从未收到该终端的消息。" if age is None else f"主机 {age // 60} 分钟未收到该终端的消息。"))  # fmt: skip
    # A region outage is a reason only for a terminal that cannot reach the host itself; the
    # fleet view counts the other terminals of its region.
    cut_off = (
        i.link.connect not in ("ok", "skipped")
        or bool(i.journal.failure and i.journal.failure.link)
        or (host_side and silent)
    )
    st = i.journal.settlement
    breaks = [x for x in h.exceptions if st is not None and x["batch"] == st.batch]
    if st is not None and breaks and "settle.unbalanced" in s.seen:
        s.add("settle.unbalanced", _ev("host", "recon_exceptions", breaks,
              f"The host's reconciliation of batch {st.batch:06d}: " + ", ".join(f"STAN {x['stan']} {x['category']}" for x in breaks) + ".",
              f"主机对批次 {st.batch:06d} 的对账差错：" + "，".join(f"流水号 {x['stan']} {x['category']}" for x in breaks) + "。"))  # fmt: skip
    if (
        cut_off
        and h.region
        and h.region_terminals >= 2
        and h.region_dark / h.region_terminals >= REGION_DARK_SHARE
    ):
        s.add("fleet.region_dark", _ev("fleet", "region.dark", {"region": h.region, "dark": h.region_dark, "of": h.region_terminals},
              f"{h.region_dark} of {h.region_terminals} terminals in region {h.region} lost the host together.",
              f"{h.region} 地区 {h.region_terminals} 台终端中有 {h.region_dark} 台同时与主机失联。"))  # fmt: skip
    if h.version_terminals >= 3 and h.version_failing / h.version_terminals >= 0.5:
        s.add("fleet.version_failing", _ev("fleet", "version.failing", {"version": h.software_version, "failing": h.version_failing, "of": h.version_terminals},
              f"{h.version_failing} of {h.version_terminals} terminals on software {h.software_version} were refused or sent what the host could not parse.",
              f"软件版本 {h.software_version} 的 {h.version_terminals} 台终端中有 {h.version_failing} 台被拒绝或报文无法解析。"))  # fmt: skip
    if h.fleet_terminals >= 3 and h.fleet_issuer_failing >= max(3, h.fleet_terminals // 3):
        s.add("fleet.issuer_failing", _ev("fleet", "issuer.failing", {"terminals": h.fleet_issuer_failing},
              f"{h.fleet_issuer_failing} terminals got issuer-down answers ({'/'.join(issuer_down_codes())}) in the last hour.",
              f"近一小时有 {h.fleet_issuer_failing} 台终端收到发卡行不可用应答。"))  # fmt: skip
    # What the host's view rules out by looking healthy.
    if h.status == "active":
        s.ruled_out.append("terminal.unregistered")
        if "code.restricted" not in s.seen:
            s.ruled_out.append("operation.restricted")
    if h.region and "fleet.region_dark" not in s.seen:
        s.ruled_out.append("region.outage")
    if "fleet.issuer_failing" not in s.seen and "code.issuer" not in s.seen:
        s.ruled_out.append("issuer.unavailable")
    if "telemetry.stale" not in s.seen:
        s.ruled_out.append("telemetry.missing")
