"""The doctor's catalog of causes as data (documented in docs/doctor.md, "Causes").

The ids are a public interface.

Each cause carries its group, what happened, the automatic recovery that is safe to run (an
action id from :mod:`possettle.doctor.recover`, or none) and the manual remedy, in English and
Simplified Chinese (their sentences live in ``doctor/locale/*.toml``, keyed ``cause.<id>.what``
and ``cause.<id>.remedy``), plus the prior used when evidence is ambiguous (how often the cause is
behind a failed settlement in the field, a rough base rate; see :mod:`.rank`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from possettle.doctor.wording import Text, say


class Group(StrEnum):
    HARDWARE = "hardware"
    SOFTWARE = "software"
    OPERATION = "operation"
    EXTERNAL = "external"

    @property
    def text(self) -> Text:
        return say(f"group.{self.value}")


class Step(StrEnum):
    """The settlement step that failed (causes.md)."""

    SIGN_ON = "sign_on"
    REVERSAL = "reversal"
    OFFLINE_UPLOAD = "offline_upload"
    SETTLE = "settle"
    BATCH_UPLOAD = "batch_upload"
    UPLOAD_END = "upload_end"
    PRINT = "print"
    CLEAR = "clear"


#: the steps the wording catalog has words for (``step.<step>``); an older journal's step that
#: is not one of them is shown as it was recorded
STEPS = frozenset(s.value for s in Step)


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    group: Group
    what: Text
    remedy: Text
    recovery: str | None  # an action of recover.py that is safe unattended, or None
    prior: float


def _c(id: str, group: Group, recovery: str | None, prior: float) -> Cause:
    return Cause(id, group, say(f"cause.{id}.what"), say(f"cause.{id}.remedy"), recovery, prior)


H, S, OP, E = Group.HARDWARE, Group.SOFTWARE, Group.OPERATION, Group.EXTERNAL

CAUSES: tuple[Cause, ...] = (
    _c("printer.paper_out", H, "queue_reprint", 0.06),
    _c("printer.fault", H, "queue_reprint", 0.03),
    _c("reader.fault", H, None, 0.02),
    _c("link.down", H, "resume_settlement", 0.08),
    _c("storage.full", H, None, 0.02),
    _c("storage.corrupt", H, None, 0.01),
    _c("device.overheat", H, None, 0.005),
    _c("link.sim_inactive", H, None, 0.04),
    _c("device.battery_low", H, None, 0.02),
    _c("software.outdated", S, None, 0.03),
    _c("software.crash", S, "resume_settlement", 0.04),
    _c("protocol.incompatible", S, None, 0.01),
    _c("keys.out_of_sync", S, "sign_on", 0.06),
    _c("batch.out_of_balance", S, "resume_settlement", 0.10),
    _c("batch.sequence_mismatch", S, "sign_on", 0.03),
    _c("batch.already_settled", S, "resume_settlement", 0.02),
    _c("reversal.stuck", S, "send_reversals", 0.04),
    _c("network.unstable", S, "resume_settlement", 0.10),
    _c("host.unreachable", S, "resume_settlement", 0.07),
    _c("issuer.unavailable", S, None, 0.05),
    _c("gateway.error", S, None, 0.01),
    _c("permission.denied", S, None, 0.03),
    _c("terminal.unregistered", S, None, 0.02),
    _c("telemetry.missing", S, None, 0.02),
    # the terminal gave up on a reversal and deleted it: nothing left to send, a person checks
    _c("reversal.abandoned", S, None, 0.02),
    _c("params.missing", S, None, 0.02),
    _c("keys.master_missing", S, None, 0.02),
    _c("input.invalid", OP, None, 0.04),
    _c("operation.out_of_order", OP, "resume_settlement", 0.03),
    _c("operation.outside_hours", OP, None, 0.03),
    _c("operation.restricted", OP, None, 0.01),
    _c("operator.auth_failed", OP, None, 0.03),
    _c("operator.cancelled", OP, None, 0.01),
    _c("power.interrupted", E, "resume_settlement", 0.05),
    _c("region.outage", E, "resume_settlement", 0.02),
    # the acquirer's decision, outside the shop: nothing the staff can change on site
    _c("merchant.frozen", E, None, 0.02),
    _c("external.undetected", E, None, 0.01),
)

BY_ID: dict[str, Cause] = {c.id: c for c in CAUSES}


def cause(cause_id: str) -> Cause:
    try:
        return BY_ID[cause_id]
    except KeyError:
        raise KeyError(f"no cause {cause_id!r} in the catalog (docs/doctor.md, Causes)") from None
