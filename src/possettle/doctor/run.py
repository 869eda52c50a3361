"""One doctor run: gather (journal, probes, host), rank, optionally recover, report.

Diagnosis is read-only; ``fix=True`` runs the safe recoveries of the top causes (each once),
journals them, then looks again to decide what is still unresolved. The report's summary is
sent to the host as a status report (0820/362) when the host can be reached, so the host
side (``possettle doctor --host-db URL --tid TID``) sees the terminal's last word; the terminal
keeps it as its standing verdict, which its scheduled status reports carry until it settles
again (:mod:`possettle.terminal.scheduled_report`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from possettle.clock import Clock, SystemClock
from possettle.doctor import recover
from possettle.doctor.catalog import cause
from possettle.doctor.checks import area_checks
from possettle.doctor.facts import JournalFacts, read_journal
from possettle.doctor.hostview import DARK_AFTER, HostFacts, read_host
from possettle.doctor.model import Diagnosis, Evidence, Report
from possettle.doctor.plain import likelihood
from possettle.doctor.probes import LinkProbe, maybe_probe_link, probe_printer, probe_reader
from possettle.doctor.rank import rank
from possettle.doctor.signals import Inputs, collect
from possettle.doctor.wording import say
from possettle.errors import PossettleError
from possettle.status_report import MAX_REPORT
from possettle.terminal.pos import Pos
from possettle.terminal.scheduled_report import keep_verdict


@dataclass
class Options:
    host_engine: sa.Engine | None = None
    fix: bool = False
    probe: bool = True
    send_report: bool = True
    clock: Clock | None = None
    # How long a terminal may be silent before the fleet view counts it dark (region.outage).
    dark_after: timedelta = DARK_AFTER


def _unresolved(j: JournalFacts) -> bool:
    if not j.readable:
        return True
    unfinished = j.settlement is not None and j.settlement.step.value != "done"
    return unfinished or bool(j.reversals) or j.print_queue > 0 or j.failure is not None


async def _gather(directory: Path, opts: Options, now: datetime) -> tuple[Inputs, bool]:
    journal = read_journal(directory, now)
    cfg = journal.config
    link = (
        await maybe_probe_link(cfg, now)
        if opts.probe
        else LinkProbe(connect="skipped", why="no_probe")
    )
    host: HostFacts | None = None
    if opts.host_engine is not None and cfg is not None:
        host = read_host(opts.host_engine, cfg.tid, now, opts.dark_after)
    printer = probe_printer(directory, cfg.printer if cfg else "sim")
    inputs = Inputs(journal, printer, probe_reader(directory), link, host, now)
    return inputs, _unresolved(journal)


def _recovery(d: Diagnosis, *, never_signed_on: bool) -> str | None:
    """The safe action for a diagnosis: its cause's, except that a terminal that never signed
    on is put right by signing on (out of order: "sign on before trading"), not by resuming a
    settlement it never started."""
    if never_signed_on and d.cause.id == "operation.out_of_order":
        return "sign_on"
    return d.cause.recovery


async def diagnose(directory: Path, opts: Options | None = None) -> Report:
    opts = opts or Options()
    clock = opts.clock or SystemClock()
    now = clock.now()
    inputs, failed = await _gather(directory, opts, now)
    signals = collect(inputs)
    failure = inputs.journal.failure
    step = failure.step if failure else None
    diagnoses = rank(signals, failed=failed, step=step)
    checks = area_checks(inputs, signals)
    j = inputs.journal
    tid = j.config.tid if j.config else directory.name
    fixed = opts.fix and j.readable and j.config is not None and bool(diagnoses)
    if fixed:
        done: dict[str, dict[str, str]] = {}
        pos = Pos.open(directory, clock=opts.clock)
        try:
            for d in diagnoses:
                action = _recovery(d, never_signed_on=j.never_signed_on)
                if action is None:
                    continue
                if action not in done:
                    done[action] = await recover.run(pos, action)
                d.recovery = done[action]
        finally:
            await pos.close()
        after, failed = await _gather(directory, Options(probe=False), clock.now())
        j = after.journal
        # the areas as they are now: a printer that printed after the fix is no longer ✗
        now_in = Inputs(
            after.journal, after.printer, after.reader, inputs.link, inputs.host, after.now
        )
        checks = area_checks(now_in, collect(now_in))
    no_data = not inputs.journal.has_data and inputs.link.connect != "ok"
    counts = (len(j.reversals), len(j.offline)) if j.readable else (None, None)
    report = Report(tid, j.batch, checks, diagnoses, failed or no_data, *counts)
    # the batch the diagnoses are about: the one whose settlement had not finished when the
    # doctor looked (before any fix), whichever batch is open now
    report.failed_batch = inputs.journal.unsettled_batch if diagnoses else None
    report.fixed = fixed
    if opts.send_report and j.readable and j.config is not None and inputs.link.connect == "ok":
        await _send_report(directory, report, opts)
    return report


def summary(report: Report) -> bytes:
    """The compact report for the host (≤ 512 bytes of UTF-8 JSON)."""
    causes = [[d.cause.id, round(d.score, 2), d.step] for d in report.diagnoses[:4]]
    checks = {c.area: c.status.value for c in report.checks if c.status.value != "ok"}

    def encode() -> bytes:
        data = {
            "ok": report.ok,
            "batch": report.batch,
            "causes": causes,
            "checks": checks,
            "pending_reversals": report.pending_reversals,
            "offline_items": report.offline_items,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()

    raw = encode()
    while len(raw) > MAX_REPORT and causes:
        causes.pop()
        raw = encode()
    if len(raw) > MAX_REPORT:
        checks = {}
        raw = encode()
    return raw


async def _send_report(directory: Path, report: Report, opts: Options) -> None:
    try:
        pos = Pos.open(directory, clock=opts.clock)
    except PossettleError:
        return
    raw = summary(report)
    try:
        # the verdict stands in the terminal's own scheduled reports until it settles again
        keep_verdict(pos.journal, raw)
        await pos.terminal.status_report(raw)
    except PossettleError:
        pass  # the report is a courtesy; the diagnosis stands without it
    finally:
        await pos.close()


def diagnose_from_host(
    engine: sa.Engine, tid: str, clock: Clock | None = None, dark_after: timedelta = DARK_AFTER
) -> Report:
    """The host's side: registry, policy, host events, fleet, and the terminal's last report."""
    now = (clock or SystemClock()).now()
    host = read_host(engine, tid, now, dark_after)
    journal = JournalFacts(config=None, readable=False)
    link = LinkProbe(connect="skipped", why="host_side")
    inputs = Inputs(journal, "unknown", "unknown", link, host, now)
    signals = collect(inputs)
    reported = host.last_report
    failed = reported is not None and not reported.ok
    diagnoses = rank(signals, failed=False, step=None)
    named = {d.cause.id for d in diagnoses}
    for rank_, (cause_id, score, step) in enumerate(reported.causes if reported else (), 1):
        try:
            known = cause(cause_id)
        except KeyError:
            continue
        if cause_id in named:
            continue
        band = say(f"likelihood.{likelihood(rank_, score)}")
        text = say("evidence.terminal_report", cause=cause_id, likelihood=band)
        ev = Evidence.of("host", "terminal_report", [cause_id, score, step], text)
        diagnoses.append(Diagnosis(known, score, step, [ev]))
    diagnoses.sort(key=lambda d: (-d.score, d.cause.id))
    if failed and not diagnoses:
        diagnoses = rank(signals, failed=True, step=None)
    checks = area_checks(inputs, signals)
    return Report(tid, host.current_batch, checks, diagnoses, failed=failed or not host.registered)
