"""The one-line-per-area summary (power, printer, reader, storage, network, host, keys,
clock, software, operators, batch): ✓ ok, ! warning, ✗ failing, ? unknown."""

from __future__ import annotations

from possettle.doctor.model import AREAS, Check, Status
from possettle.doctor.signals import Inputs, Signals
from possettle.doctor.wording import Text, say
from possettle.link.failure import LinkFailure
from possettle.terminal.printer.status import PrinterCode

_PRINTER = tuple(
    f"{family}.{code.value}" for family in ("printer", "print.failed") for code in PrinterCode
)

# Which signals make an area warn (!) or fail (✗).
AREA_SIGNALS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "power": (("power.unclean",), ("software.crash_record",)),
    "printer": ((), _PRINTER),
    "reader": ((), ("reader.fault", "refused.reader")),
    "storage": (("storage.nearly_full",), ("storage.full", "storage.at_limit", "storage.corrupt")),
    "network": (
        (
            "probe.loss",
            "settle.link.timeout",
            "settle.link.no_route",
            "settle.link.lost_reply",
            "settle.link.reset",
            "settle.link.unknown",
            "link.no_reply",
            "keepalive.down.timeout",
            "keepalive.down.no_route",
            "keepalive.down.lost_reply",
            "keepalive.down.reset",
        ),
        ("probe.timeout",),
    ),
    "host": (
        (
            "settle.link.refused",
            "keepalive.down.refused",
            "fleet.issuer_failing",
            "code.issuer",
            "settle.system_error",
            "telemetry.stale",
            "code.90",
            "code.58",
            "code.permission",
            "refused.permission",
        ),
        ("probe.refused", "code.97", "code.03", "code.restricted", "fleet.region_dark"),
    ),
    "keys": (
        ("code.22",),
        ("keys.never_signed_on", "code.A0", "keys.check_failed", "host.mac_errors"),
    ),
    "clock": (("clock.skew", "refused.hours"), ()),
    "software": (("fleet.version_failing",), ("code.58.minver", "code.30", "host.format_errors")),
    "operators": (
        (
            "refused.operator",
            "code.input",
            "refused.input",
            "code.order",
            "refused.order",
            "refused.void_settled",
        ),
        (),
    ),
    "batch": (
        ("settle.unbalanced", "reversal.pending", "code.77", "batch.mismatch_event"),
        ("reversal.stuck", "code.94.settle"),
    ),
}
# Signals that speak for an area's health rather than against it (the area line shows ✓).
HEALTHY_SIGNALS: dict[str, str] = {"probe.ok": "network"}

# An area's line with nothing against it reads ``check.ok.<area>`` (✓) or ``check.no_data``
# (?) of the wording catalog.


def area_checks(inputs: Inputs, signals: Signals) -> list[Check]:
    out = []
    known = _known(inputs)
    for area in AREAS:
        warn, fail = AREA_SIGNALS[area]
        hits = [(k, s) for k in (*fail, *warn) if (s := signals.seen.get(k))]
        if any(k in fail for k, _ in hits):
            status = Status.FAIL
        elif hits:
            status = Status.WARN
        elif area in known:
            status = Status.OK
        else:
            status = Status.UNKNOWN
        if hits:
            ev = tuple(e for _, seen in hits for e in seen)
            out.append(Check(area, status, ev[0].en, ev[0].zh, ev))
        elif area == "network" and (line := _network(inputs)) is not None:
            out.append(Check(area, line[0], line[1].en, line[1].zh))
        else:
            text = say(f"check.ok.{area}") if status is Status.OK else say("check.no_data")
            out.append(Check(area, status, text.en, text.zh))
    return out


def _network(i: Inputs) -> tuple[Status, Text] | None:
    """The network line when nothing speaks against it and the host did not answer an echo:
    a refused connect proves the path to the host works (the host's side said no: the host
    line fails, the network is up); a link not probed says so and why — and when the
    settlement's own connect was refused, that the path worked then."""
    link = i.link
    if link.connect == LinkFailure.REFUSED:
        return Status.OK, say("check.network.refused")
    if link.connect != "skipped":
        return None
    why = say(f"why.{link.why or 'no_probe'}")
    f = i.journal.failure
    if f is not None and f.link and f.link_failure == LinkFailure.REFUSED:
        return Status.OK, say("check.network.refused_at_settlement", why=why)
    return Status.UNKNOWN, say("check.network.not_checked", why=why)


def _known(i: Inputs) -> set[str]:
    """Areas with enough data to call healthy."""
    known: set[str] = set()
    j = i.journal
    if j.readable:
        known |= {"power", "storage", "batch", "operators"}
        if j.signed_on:
            known |= {"keys", "clock"}
    if i.printer in ("ok",):
        known.add("printer")
    if i.reader in ("ok",):
        known.add("reader")
    if i.link.connect == "ok" and i.link.echoes_answered:
        known |= {"network", "host"}
    if i.host is not None and i.host.registered:
        known |= {"host", "software"}
    return known if j.has_data or i.link.connect == "ok" else set()
