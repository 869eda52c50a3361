"""How strongly each signal points at each cause: Bayes factors, kept as data.

A cause's score is its posterior probability from its prior (catalog.py) and the product of
the factors of the signals seen: ``odds = prior / (1 - prior) × Π factor``. Factors far above
1 are rules with decisive evidence (a printer that says "paper out"); factors near 1 are hints
that only rank ambiguous causes (a timeout: the network, or the host?). A factor below 1
argues against a cause (the rest of the region is dark too: not this terminal's cable).
"""

from __future__ import annotations

from possettle.terminal.printer.status import PrinterCode


def _printer(code: PrinterCode, factor: float) -> dict[str, float]:
    """A printer code points at paper or at the printer (offline, cover open, overheated)."""
    cause = "printer.paper_out" if code is PrinterCode.PAPER_OUT else "printer.fault"
    return {cause: factor}


_UNANSWERED_CONNECT = {
    "link.down": 25.0,
    "network.unstable": 2.0,
    "region.outage": 3.0,
    "host.unreachable": 1.5,
}
_BROKEN_CONNECTION = {"network.unstable": 10.0, "host.unreachable": 4.0}
# The terminal's own echoes found no connect answered, or no route, and none since: a line
# that stays down is the local link's, and no blip.
_KEPT_UNANSWERED = {"link.down": 5.0, "region.outage": 2.0, "network.unstable": 0.5}

FACTORS: dict[str, dict[str, float]] = {
    # printer: what its status query says now (printer.<code>), and the code a print the
    # terminal attempted failed with (print.failed.<code>; terminal/printer/status.py)
    **{f"printer.{code.value}": _printer(code, 400.0) for code in PrinterCode},
    **{f"print.failed.{code.value}": _printer(code, 200.0) for code in PrinterCode},
    # reader, storage, power
    "reader.fault": {"reader.fault": 300.0},
    "storage.full": {"storage.full": 500.0},
    "storage.at_limit": {"storage.full": 500.0},
    "storage.nearly_full": {"storage.full": 20.0},
    "storage.corrupt": {"storage.corrupt": 1000.0},
    "power.unclean": {"power.interrupted": 60.0, "software.crash": 3.0},
    "software.crash_record": {"software.crash": 400.0, "power.interrupted": 0.05},
    # link and host: how the settlement's link failed (link/failure.py)
    # A refused connect got a reset back: the path works, the host's side said no.
    "settle.link.refused": {"host.unreachable": 30.0, "link.down": 1.5, "region.outage": 2.0},
    # No answer to the connect at all, or no route: the local link first.
    "settle.link.timeout": _UNANSWERED_CONNECT,
    "settle.link.no_route": _UNANSWERED_CONNECT,
    # The request left and its reply did not come back.
    "settle.link.lost_reply": {
        "network.unstable": 25.0,
        "host.unreachable": 2.0,
        "link.down": 2.0,
    },
    # An open connection reset or closed mid-exchange; and a link failure journaled by a
    # version that did not record how (read alike).
    "settle.link.reset": _BROKEN_CONNECTION,
    "settle.link.unknown": _BROKEN_CONNECTION,
    "link.no_reply": {"network.unstable": 5.0},
    # The terminal's keep-alive (terminal/keepalive.py): its own echoes and status reports
    # found the link down that way and have not reached the host since. The same kinds as a
    # settlement's, weaker (the settlement's failure and the probe are the direct evidence;
    # this says the failure lasts); a refused connect that lasts is the host's side.
    "keepalive.down.refused": {
        "host.unreachable": 3.0,
        "region.outage": 2.0,
        "network.unstable": 0.5,
    },
    "keepalive.down.timeout": _KEPT_UNANSWERED,
    "keepalive.down.no_route": _KEPT_UNANSWERED,
    "keepalive.down.lost_reply": {"network.unstable": 3.0, "host.unreachable": 1.5},
    "keepalive.down.reset": {"network.unstable": 3.0, "host.unreachable": 2.0},
    "probe.refused": {"host.unreachable": 20.0, "link.down": 0.5},
    "probe.timeout": {"link.down": 15.0, "network.unstable": 4.0, "region.outage": 2.0},
    "probe.loss": {"network.unstable": 15.0},
    # The host answers now: the link or host fault has cleared, which makes it a little less
    # likely to have been the cause, but a settlement that failed while it lasted still did.
    "probe.ok": {"link.down": 0.7, "host.unreachable": 0.7},
    # The rest of the region went dark too: one shared cause, not this terminal's cable, its
    # host connection or its missing reports.
    "fleet.region_dark": {
        "region.outage": 300.0,
        "link.down": 0.05,
        "host.unreachable": 0.05,
        "telemetry.missing": 0.05,
    },
    "fleet.issuer_failing": {"issuer.unavailable": 40.0},
    "fleet.version_failing": {"software.outdated": 10.0, "protocol.incompatible": 5.0},
    "telemetry.stale": {"telemetry.missing": 100.0},
    # host answers
    "code.A0": {"keys.out_of_sync": 80.0},
    "keys.check_failed": {"keys.out_of_sync": 300.0},
    # no sign-on ever succeeded: the first step was skipped (causes.md: "not signed on");
    # enough to be named alone, well below any refusal that says why a sign-on failed
    "keys.never_signed_on": {"operation.out_of_order": 50.0},
    "host.mac_errors": {"keys.out_of_sync": 40.0},
    "code.77": {"batch.sequence_mismatch": 120.0},
    "code.22": {"batch.sequence_mismatch": 20.0, "keys.out_of_sync": 5.0},
    "batch.mismatch_event": {"batch.sequence_mismatch": 80.0},
    "code.94.settle": {"batch.already_settled": 300.0},
    "code.58.minver": {"software.outdated": 600.0},
    "code.58": {"permission.denied": 60.0},
    "code.97": {"terminal.unregistered": 400.0},
    "code.03": {"terminal.unregistered": 300.0},
    "code.30": {"protocol.incompatible": 150.0},
    "host.format_errors": {"protocol.incompatible": 60.0},
    "code.issuer": {"issuer.unavailable": 30.0, "network.unstable": 1.5},
    "code.permission": {"permission.denied": 60.0},
    "code.restricted": {"operation.restricted": 200.0},
    "code.input": {"input.invalid": 15.0},
    "code.order": {"operation.out_of_order": 30.0},
    # 90: the host's day cut-over (日切, CUP tables): wait for the window to pass
    "code.90": {"operation.outside_hours": 200.0},
    "settle.unbalanced": {"batch.out_of_balance": 120.0},
    "reversal.stuck": {"reversal.stuck": 150.0},
    "reversal.pending": {"reversal.stuck": 5.0},
    # local refusals (journaled by the terminal)
    "refused.operator": {"operator.auth_failed": 200.0},
    "refused.hours": {"operation.outside_hours": 200.0},
    "refused.permission": {"permission.denied": 60.0},
    "refused.input": {"input.invalid": 60.0},
    "refused.order": {"operation.out_of_order": 60.0},
    "refused.void_settled": {"operation.out_of_order": 200.0},
    # a 91/96/98 to a settlement message: the host's own trouble, no cause of the catalog
    "settle.system_error": {},
    "refused.reader": {"reader.fault": 100.0},
    "clock.skew": {"operation.outside_hours": 5.0},
}

# Which codes give which ``code.*`` signal is a column of the response-code table
# (iso8583/codes.py), shared with the alert rules and the terminal.

# A cause needs at least this score to be named; below it, "external.undetected".
THRESHOLD = 0.5
