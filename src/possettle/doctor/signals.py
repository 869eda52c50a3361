"""From facts to signals: each signal a key of likelihoods.FACTORS with the evidence behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from possettle.doctor.catalog import STEPS
from possettle.doctor.facts import JournalFacts
from possettle.doctor.hostview import HostFacts
from possettle.doctor.model import Evidence
from possettle.doctor.probes import LinkProbe, PrinterProbe, ReaderProbe
from possettle.doctor.wording import Text, join, say
from possettle.iso8583.codes import describe, issuer_down_codes
from possettle.iso8583.framing import version_text
from possettle.link.failure import LinkFailure
from possettle.terminal.journal.events import (
    BatchMismatch,
    Event,
    EventKind,
    KeyCheckFailed,
    LinkWentDown,
    NoReply,
    PrintFailed,
    Refusal,
    ReversalStuck,
    SignOnRefused,
    SoftwareCrashed,
    UncleanShutdown,
)
from possettle.terminal.keepalive import LinkState
from possettle.terminal.operations.settlement import confirms
from possettle.terminal.printer.status import PrinterCode
from possettle.terminal.reader import ReaderCode

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


def _ev(source: str, key: str, value: object, text: Text) -> Evidence:
    """Evidence with its sentence from the wording catalog (doctor/locale/*.toml)."""
    return Evidence.of(source, key, value, text)


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
    _keepalive(i, s)
    _link(i, s)
    if i.host is not None:
        _host(i, s)
    _clean_device(i, s)
    return s


def _device(i: Inputs, s: Signals) -> None:
    j = i.journal
    if isinstance(i.printer, PrinterCode):
        code = i.printer.value
        text = say("evidence.printer_state", what=say(f"printer.{code}"))
        s.add(f"printer.{code}", _ev("probe", "printer.state", code, text))
    if isinstance(i.reader, ReaderCode):
        reader = i.reader.value
        text = say("evidence.reader_state", what=say(f"reader.{reader}"))
        s.add("reader.fault", _ev("probe", "reader.state", reader, text))
    if j.integrity_ok is False or (not j.readable and j.error):
        text = say("evidence.journal_corrupt", error=j.error or "quick_check failed")
        s.add("storage.corrupt", _ev("probe", "journal.integrity", j.error or "failed", text))
    if j.max_pages:
        # Pages in use against the limit: the file size alone says little (WAL, free pages).
        fill = j.used_pages / j.max_pages
        key = (
            "storage.at_limit"
            if j.used_pages >= j.max_pages - AT_LIMIT_PAGES
            else ("storage.nearly_full" if fill >= NEARLY_FULL else "")
        )
        if key:
            text = say("evidence.journal_fill", fill=fill, used=j.used_pages, limit=j.max_pages)
            s.add(key, _ev("probe", "journal.fill", round(fill, 3), text))
    if j.readable and j.free_bytes < MIN_FREE_BYTES:
        text = say("evidence.disk_free", free=j.free_bytes)
        s.add("storage.at_limit", _ev("probe", "disk.free_bytes", j.free_bytes, text))


def _readiness(i: Inputs, s: Signals) -> None:
    """A terminal that never signed on has no working keys and cannot trade, however well
    the host answers: not ready, never healthy."""
    if i.journal.readable and i.journal.never_signed_on:
        text = say("evidence.never_signed_on")
        s.add("keys.never_signed_on", _ev("journal", "signed_on_at", None, text))


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
    # the step in words where it is one of the catalog's (an older journal's may not be)
    words = say(f"step.{step}") if step in STEPS else step
    text = say("evidence.settle_failed", step=words, message=message)
    ev = _ev("journal", "settle_failed", value, text)
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
        e
        for e in recent
        if e.kind is not EventKind.UNCLEAN_SHUTDOWN or _batch_of(e, j.batch) in batches
    ]
    kinds = {e.kind for e in recent}
    crash = next((e.detail for e in recent if isinstance(e.detail, SoftwareCrashed)), None)
    if crash is not None and interrupted:
        point = crash.point or say("evidence.crash_point_unknown")
        text = say("evidence.software_crash", type=crash.type, point=point)
        where = {"type": crash.type, "point": crash.point}
        s.add("software.crash_record", _ev("journal", "software_crash", where, text))
    if j.open_marker or (EventKind.UNCLEAN_SHUTDOWN in kinds and interrupted):
        text = say("evidence.unclean_shutdown")
        s.add("power.unclean", _ev("journal", "unclean_shutdown", True, text))
    else:
        s.ruled_out.append("power.interrupted")
    # A sign-on that failed matters until a sign-on succeeds.
    unsigned = {e.id for e in _after_last(recent, EventKind.SIGNED_ON)}
    pending = {r.stan for r in j.reversals}
    for e in recent:
        kind, code, detail = e.kind, e.code, e.detail
        if isinstance(detail, PrintFailed) and j.print_queue:
            # Only while something still waits to print: a slip reprinted since is history.
            printer = detail.code.value
            text = say("evidence.print_failed", code=printer, what=say(f"printer.{printer}"))
            s.add(f"print.failed.{printer}", _ev("journal", "print_failed", printer, text))
        elif isinstance(detail, KeyCheckFailed) and e.id in unsigned:
            text = say("evidence.key_check_failed")
            s.add("keys.check_failed", _ev("journal", "key_check_failed", detail.error, text))
        elif isinstance(detail, BatchMismatch) and detail.local == j.batch:
            # Still holding the batch the host does not expect.
            local, host = detail.local, detail.host
            text = say("evidence.batch_mismatch", host=host, local=local)
            batches_seen = {"local": local, "host": host}
            s.add("batch.mismatch_event", _ev("journal", "batch_mismatch", batches_seen, text))
        elif isinstance(detail, SignOnRefused) and e.id in unsigned:
            f63 = detail.field63
            text = say("evidence.sign_on_refused", answer=f"{code} {f63}".strip())
            ev = _ev("journal", "sign_on_refused", {"code": code, "field63": f63}, text)
            _code(s, code, ev, minver=detail.min_version is not None)
        elif isinstance(detail, Refusal):
            family = code.split(".")[0]
            key = {
                "operator": "refused.operator",
                "hours": "refused.hours",
                "permission": "refused.permission",
                "limit": "refused.permission",
                "input": "refused.input",
                "order": "refused.order",
                "reader": "refused.reader",
            }.get(family)
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
                # the terminal's own words for its refusal, as it journaled them
                said = Text(detail.en or code, detail.zh or code)
                s.add(key, _ev("journal", "refused", code, said))
        elif isinstance(detail, ReversalStuck) and detail.stan in pending:
            stan, attempts = detail.stan, detail.attempts
            text = say("evidence.reversal_stuck", stan=stan, attempts=attempts)
            stuck = {"batch": detail.batch, "stan": stan, "attempts": attempts}
            s.add("reversal.stuck", _ev("journal", "reversal_stuck", stuck, text))
        elif isinstance(detail, NoReply) and interrupted:
            link = detail.link_failure.value if detail.link_failure else "unknown"
            text = say("evidence.no_reply", stan=detail.stan, link=link, error=detail.error)
            s.add("link.no_reply", _ev("journal", "no_reply", detail.stan, text))
        elif kind is EventKind.STORAGE_FULL:
            text = say("evidence.storage_full")
            s.add("storage.full", _ev("journal", "storage_full", True, text))
    if (
        j.settlement is not None
        and j.settlement.result == "already_settled"
        and not confirms(j.settlement.host_totals or "")
    ):
        # A 0500 answered 94 and the host did not confirm it closed the batch on these totals
        # (causes.md): closed on the host's word, to be confirmed with the acquirer. A 94
        # that confirmed them is a settlement like any other.
        text = say("evidence.already_settled", batch=j.settlement.batch)
        s.add("code.94.settle", _ev("journal", "settlement.result", j.settlement.result, text))
    if j.settlement is not None and j.settlement.result == "balanced_after_upload":
        text = say("evidence.balanced_after_upload", batch=j.settlement.batch)
        s.add("settle.unbalanced", _ev("journal", "settlement.result", j.settlement.result, text))
    for r in j.reversals:
        key = "reversal.stuck" if r.attempts >= REVERSAL_STUCK_ATTEMPTS else "reversal.pending"
        text = say("evidence.reversal_pending", stan=r.stan, attempts=r.attempts)
        value = {"stan": r.stan, "attempts": r.attempts}
        s.add(key, _ev("journal", "pending_reversal", value, text))
    for code, n in j.recent_codes.items():
        if code not in ("00", ""):
            text = say("evidence.response_code", code=code, count=n)
            _code(s, code, _ev("journal", "response_code", {"code": code, "count": n}, text))
    if abs(j.clock_offset) > CLOCK_SKEW_S:
        text = say("evidence.clock_offset", offset=j.clock_offset)
        s.add("clock.skew", _ev("journal", "clock_offset", j.clock_offset, text))


def _keepalive(i: Inputs, s: Signals) -> None:
    """The terminal's own echoes and status reports (terminal/keepalive.py) found the host
    unreachable and have not reached it since: terminal-side evidence that the line is down,
    not a blip, read from the latest ``link_down`` event (how the link failed, as the link
    decided it) while the journal's link state is still down.

    Not the settlement's window: a line that went down before the settlement began and stayed
    down is the case that matters. The state is as the keep-alive last found it, so a
    ``link_down`` that a sign-on or a completed settlement came after is history (the host
    answered since, whether or not the keep-alive was running to see it)."""
    j = i.journal
    if j.link_state is not LinkState.DOWN:
        return
    st = j.settlement
    settled = st.finished_at if st is not None and st.step.value == "done" else None
    downs = [
        (e.at, e.detail)
        for e in _after_last(j.events, EventKind.SIGNED_ON)
        if isinstance(e.detail, LinkWentDown)
    ]
    if not downs or (settled is not None and downs[0][0] <= settled):
        return
    kind = downs[0][1].link_failure
    if kind is None:
        return
    signal = {
        LinkFailure.REFUSED: "keepalive.down.refused",
        LinkFailure.TIMEOUT: "keepalive.down.timeout",
        LinkFailure.NO_ROUTE: "keepalive.down.no_route",
        LinkFailure.LOST_REPLY: "keepalive.down.lost_reply",
        LinkFailure.RESET: "keepalive.down.reset",
    }[kind]
    since = j.link_since or ""
    text = say("evidence.keepalive_down", since=since, link=kind.value)
    value = {"link_failure": kind.value, "since": since}
    s.add(signal, _ev("journal", "link_down", value, text))


def _link(i: Inputs, s: Signals) -> None:
    p = i.link
    if p.connect == "skipped":
        return
    if p.connect == LinkFailure.REFUSED:
        text = say("evidence.connect_refused", error=p.error)
        s.add("probe.refused", _ev("probe", "link.connect", "refused", text))
    elif p.connect != "ok":  # no answer to the connect, or no route
        text = say("evidence.connect_failed", connect=p.connect, error=p.error)
        s.add("probe.timeout", _ev("probe", "link.connect", p.connect, text))
    else:
        if p.loss > 0:
            lost = p.echoes_sent - p.echoes_answered
            text = say("evidence.echo_loss", lost=lost, sent=p.echoes_sent)
            s.add("probe.loss", _ev("probe", "link.echo_loss", round(p.loss, 2), text))
        if p.echoes_answered:
            fastest = min(p.rtt_ms)
            text = say("evidence.echo_ok", ms=fastest)
            s.add("probe.ok", _ev("probe", "link.echo_ms", round(fastest, 1), text))
            s.ruled_out += ["link.down", "host.unreachable"]
            if not p.loss:
                s.ruled_out.append("network.unstable")


def _host(i: Inputs, s: Signals) -> None:
    h = i.host
    assert h is not None
    if not h.registered:
        text = say("evidence.host_unregistered")
        s.add("code.97", _ev("host", "terminal.registered", False, text))
        return
    if h.status != "active":
        text = say("evidence.host_status", status=h.status)
        s.add("code.restricted", _ev("host", "terminal.status", h.status, text))
    version = i.journal.config.version if i.journal.config else h.software_version
    if version and version < h.min_version:
        shown, least = version_text(version), version_text(h.min_version)
        text = say("evidence.below_min_version", version=shown, min=least)
        minimum = {"version": version, "min": h.min_version}
        s.add("code.58.minver", _ev("host", "policy.min_version", minimum, text))
    else:
        s.ruled_out.append("software.outdated")
    # MAC errors since the host last issued working keys (a sign-on mends them).
    mac = h.bad_frames.get("mac_error", 0)
    if mac:
        text = say("evidence.mac_errors", count=mac)
        s.add("host.mac_errors", _ev("host", "bad_frames.mac_error", mac, text))
    fmt = h.bad_frames.get("format_error", 0)
    if fmt:
        text = say("evidence.format_errors", count=fmt)
        s.add("host.format_errors", _ev("host", "bad_frames.format_error", fmt, text))
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
        text = (
            say("evidence.never_heard")
            if age is None
            else say("evidence.last_heard", minutes=age // 60)
        )
        s.add("telemetry.stale", _ev("host", "terminal.last_seen", age, text))
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
        items = join(
            say("evidence.recon_break", stan=x["stan"], category=x["category"]) for x in breaks
        )
        text = say("evidence.recon_breaks", batch=st.batch, breaks=items)
        s.add("settle.unbalanced", _ev("host", "recon_exceptions", breaks, text))
    if (
        cut_off
        and h.region
        and h.region_terminals >= 2
        and h.region_dark / h.region_terminals >= REGION_DARK_SHARE
    ):
        dark = {"region": h.region, "dark": h.region_dark, "of": h.region_terminals}
        text = say(
            "evidence.region_dark", region=h.region, dark=h.region_dark, of=h.region_terminals
        )
        s.add("fleet.region_dark", _ev("fleet", "region.dark", dark, text))
    if h.version_terminals >= 3 and h.version_failing / h.version_terminals >= 0.5:
        version, failing, of = h.software_version, h.version_failing, h.version_terminals
        shown = version_text(version)
        text = say("evidence.version_failing", version=shown, failing=failing, of=of)
        counts = {"version": version, "failing": failing, "of": of}
        s.add("fleet.version_failing", _ev("fleet", "version.failing", counts, text))
    if h.fleet_terminals >= 3 and h.fleet_issuer_failing >= max(3, h.fleet_terminals // 3):
        n = h.fleet_issuer_failing
        text = say("evidence.issuer_failing", terminals=n, codes="/".join(issuer_down_codes()))
        s.add("fleet.issuer_failing", _ev("fleet", "issuer.failing", {"terminals": n}, text))
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
