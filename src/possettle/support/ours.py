"""Facts about one of possettle's own terminals.

With ``--host-db URL --tid TID`` (the host ledger) or ``--dir`` (the terminal's journal, through
the doctor), questions whose answer the data has are answered here and never asked, and the
doctor's own signals join the ranking.

* the host ledger (:mod:`.ours_host`, read-only): ours (acquirer, model), signed on today, the
  last settlement and whether the one before today balanced, sales now, the other terminals
  of the shop or the area, a reversal booked today, and the escalation package (TID, MID,
  merchant, batch, last STAN and RRN, times); plus the doctor's host view and its signals
  (registration, policy, MAC errors, the fleet);
* the terminal's directory (:mod:`.ours_journal`): the doctor's signals from the journal and
  the devices with their evidence, and what the journal knows (slip, paper, power cut,
  sign-on, reversal, sales, the last settlement).

Where both are given the journal's answer wins: the terminal saw it happen. Card data never
leaves here: the escalation package carries STANs and RRNs, no card number.

>>> from possettle.clock import SystemClock
>>> facts(Case(screen="结算失败"), clock=SystemClock()) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from possettle.catalogs import Text
from possettle.clock import Clock
from possettle.support.case import Case
from possettle.support.errors import SupportError, UnknownIdError
from possettle.support.result import Said

#: the signal a terminal or merchant disabled at the host gives: the doctor's own reading of
#: an acquirer's restriction (operation.restricted)
DISABLED_SIGNAL = "code.restricted"
#: escalation keys the host ledger's registry answers, over the terminal's own configuration
IDENTITY = ("tid", "mid", "merchant")


@dataclass(frozen=True, slots=True)
class OurFacts:
    #: question id → answer id, answered from the data
    answers: Mapping[str, str] = field(default_factory=dict)
    #: doctor likelihood keys (possettle.doctor.likelihoods.FACTORS) → the evidence behind them
    signals: Mapping[str, tuple[Said, ...]] = field(default_factory=dict)
    #: what the escalation package gets from the data (tid, mid, merchant, batch, stan, rrn …)
    escalation: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[Text, ...] = ()


def facts(case: Case, *, clock: Clock) -> OurFacts | None:
    """None when the case names none of our terminals.

    Raises :class:`~possettle.support.errors.UnknownIdError` for a TID the ledger does not
    have, and :class:`~possettle.support.errors.SupportError` for a TID without a ledger or a
    ledger that does not exist.
    """
    if case.host_db is None and case.terminal_dir is None:
        if case.tid is not None:
            raise SupportError.in_both(
                f"--tid {case.tid} needs --host-db: the TID is looked up in the host's ledger",
                f"--tid {case.tid} 需要同时给出 --host-db：终端号要在主机账本里查",
            )
        return None
    from possettle.ledger.engine import create_engine_for, sqlite_path

    if case.host_db is not None:
        path = sqlite_path(case.host_db)
        if path is not None and not path.exists():
            # create_engine_for would create an empty file: looking must not write
            raise SupportError.in_both(
                f"--host-db: no ledger at {path}", f"--host-db：{path} 处没有账本"
            )
    now = clock.now()
    engine = create_engine_for(case.host_db) if case.host_db is not None else None
    try:
        parts: list[OurFacts] = []
        tid = case.tid
        if case.terminal_dir is not None:
            journal = _from_journal(case, engine, now)
            parts.append(journal[0])
            tid = tid or journal[1]
        if engine is not None and tid is not None:
            parts.insert(0, _from_ledger(engine, tid, now, named=case.tid is not None))
    finally:
        if engine is not None:
            engine.dispose()
    merged = _merge(parts)
    if len(parts) == 2:
        # who the terminal and the shop are is the host's registry's word, not the journal's
        ledger = parts[0].escalation
        identity = {k: ledger[k] for k in IDENTITY if ledger.get(k)}
        merged = replace(merged, escalation={**merged.escalation, **identity})
    return merged


def _said(signals: Any) -> dict[str, tuple[Said, ...]]:
    """The doctor's signals with their evidence, as the desk's evidence."""
    return {
        key: tuple(Said(f"{ev.source}.{ev.key}", ev.en, ev.zh) for ev in evs)
        for key, evs in signals.seen.items()
    }


def _from_journal(case: Case, engine: Any, now: Any) -> tuple[OurFacts, str | None]:
    from possettle.support.ours_journal import read_terminal

    assert case.terminal_dir is not None
    if not case.terminal_dir.is_dir():
        raise SupportError.in_both(
            f"--dir {case.terminal_dir}: no such directory",
            f"--dir {case.terminal_dir}：目录不存在",
        )
    view = read_terminal(case.terminal_dir, now, engine)
    name, where = view.tid or case.terminal_dir.name, case.terminal_dir
    note = Text(
        f"Read from terminal {name}'s journal ({where}) by the doctor.",
        f"已由诊断程序读取终端 {name} 的流水（{where}）。",
    )
    found = OurFacts(view.answers, _said(view.signals), view.escalation, (note,))
    return found, view.tid


def _from_ledger(engine: Any, tid: str, now: Any, *, named: bool) -> OurFacts:
    from possettle.doctor.facts import JournalFacts
    from possettle.doctor.hostview import read_host
    from possettle.doctor.probes import LinkProbe
    from possettle.doctor.signals import Inputs, collect
    from possettle.support.ours_host import disabled, read_ledger

    view = read_ledger(engine, tid, now)
    if not view.found:
        if not named:
            return OurFacts()  # the journal's terminal: the doctor's host view says code 97
        known = ", ".join(view.known) or "none"
        raise UnknownIdError.in_both(
            f"--tid {tid}: no such terminal in the host ledger (registered: {known})",
            f"--tid {tid}：主机账本里没有这个终端（已登记：{known}）",
        )
    signals: dict[str, tuple[Said, ...]] = {}
    if named:
        # the host's side alone (no journal): the doctor's host view, as doctor --host-db does
        host = read_host(engine, tid, now)
        journal = JournalFacts(config=None, readable=False)
        link = LinkProbe(connect="skipped", why="host_side")
        signals = _said(collect(Inputs(journal, "unknown", "unknown", link, host, now)))
    terminal_off, merchant_off = disabled(view)
    if terminal_off or merchant_off:
        key = DISABLED_SIGNAL
        what = Text(
            f"the host has {'the merchant' if merchant_off else 'the terminal'} disabled",
            f"主机上该{'商户' if merchant_off else '终端'}已停用",
        )
        signals[key] = (*signals.get(key, ()), Said("host.status", what.en, what.zh))
    note = Text(
        f"Looked up terminal {tid} of {view.merchant} in the host ledger ({_ledger_name(engine)}).",
        f"已在主机账本（{_ledger_name(engine)}）中查到商户 {view.merchant} 的终端 {tid}。",
    )
    return OurFacts(view.answers, signals, view.escalation, (note,))


def _ledger_name(engine: Any) -> str:
    from possettle.ledger.engine import redacted

    return redacted(engine.url.render_as_string(hide_password=True))


def _merge(parts: list[OurFacts]) -> OurFacts:
    """Later parts win on answers and the escalation package; evidence adds up."""
    answers: dict[str, str] = {}
    signals: dict[str, tuple[Said, ...]] = {}
    package: dict[str, Any] = {}
    notes: list[Text] = []
    for part in parts:
        answers |= part.answers
        for key, said in part.signals.items():
            signals[key] = (*signals.get(key, ()), *said)
        package |= {k: v for k, v in part.escalation.items() if v not in (None, "")}
        notes += part.notes
    return OurFacts(answers, signals, package, tuple(notes))
