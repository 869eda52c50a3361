"""The doctor's catalog: shared/causes.md as data. The ids are a public interface.

Each cause carries its group, what happened, the automatic recovery that is safe to run (an
action id from :mod:`possettle.doctor.recover`, or none) and the manual remedy, in English and
Simplified Chinese, plus the prior used when evidence is ambiguous (how often the cause is
behind a failed settlement in the field, a rough base rate; see :mod:`.rank`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Group(StrEnum):
    HARDWARE = "hardware"
    SOFTWARE = "software"
    OPERATION = "operation"
    EXTERNAL = "external"

    @property
    def zh(self) -> str:
        return {"hardware": "硬件", "software": "软件", "operation": "操作", "external": "外部"}[
            self.value
        ]


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


@dataclass(frozen=True, slots=True)
class Text:
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    group: Group
    what: Text
    remedy: Text
    recovery: str | None  # an action of recover.py that is safe unattended, or None
    prior: float


def _c(
    id: str, group: Group, what: tuple[str, str], remedy: tuple[str, str],
    recovery: str | None, prior: float,
) -> Cause:  # fmt: skip
    return Cause(id, group, Text(*what), Text(*remedy), recovery, prior)


H, S, OP, E = Group.HARDWARE, Group.SOFTWARE, Group.OPERATION, Group.EXTERNAL

CAUSES: tuple[Cause, ...] = (
    _c("printer.paper_out", H, ("The slip could not print: the printer is out of paper; the settlement itself reached the host.", "结算单无法打印：打印机缺纸；结算本身已送达主机。"), ("Load paper, then reprint the slip (possettle terminal reprint).", "装纸后重打结算单（possettle terminal reprint）。"), "queue_reprint", 0.06),
    _c("printer.fault", H, ("The printer is offline, its cover is open or it overheated.", "打印机离线、盖子未合或过热。"), ("Reconnect the printer, close the cover, let it cool down; service it if it persists.", "重新连接打印机、合上盖子、待其冷却；仍不行请送修。"), "queue_reprint", 0.03),
    _c("reader.fault", H, ("The card reader or QR scanner is not reading.", "读卡器或扫码器无法读取。"), ("Clean or reconnect the reader.", "清洁或重新连接读卡器。"), None, 0.02),
    _c("link.down", H, ("The local network link is down (cable, port, Wi-Fi).", "本地网络链路中断（网线、端口、Wi-Fi）。"), ("Reseat the cables and check the router.", "重新插好网线并检查路由器。"), "resume_settlement", 0.08),
    _c("storage.full", H, ("The journal cannot take more writes, or the batch is nearly full.", "交易流水存储已满，或批次即将满。"), ("Settle now to free the batch; free space on the device.", "立即结算以清空批次；释放设备存储空间。"), None, 0.02),
    _c("storage.corrupt", H, ("The journal failed its integrity check.", "交易流水未通过完整性校验。"), ("Export the journal and send the device for service; do not settle from it.", "导出交易流水并送修设备；不要用它结算。"), None, 0.01),
    _c("device.overheat", H, ("The device reports a temperature outside its range.", "设备温度超出范围。"), ("Ventilate the device and move it away from heat.", "让设备通风并远离热源。"), None, 0.005),
    _c("software.outdated", S, ("The terminal software is below the host's minimum version.", "终端软件版本低于主机要求的最低版本。"), ("Update the terminal software.", "升级终端软件。"), None, 0.03),
    _c("software.crash", S, ("The terminal application stopped in the middle of a settlement.", "终端程序在结算中途异常退出。"), ("Send the log bundle to support.", "将日志包发送给技术支持。"), "resume_settlement", 0.04),
    _c("protocol.incompatible", S, ("The host cannot parse what the terminal sends.", "主机无法解析终端发送的报文。"), ("Fix the terminal parameters or update the software.", "修正终端参数或升级软件。"), None, 0.01),
    _c("keys.out_of_sync", S, ("The MAC or PIN keys of terminal and host do not match.", "终端与主机的 MAC/PIN 密钥不一致。"), ("If it repeats after a fresh sign-on, reload the TMK.", "重新签到后仍出现，请重新灌装主密钥。"), "sign_on", 0.06),
    _c("batch.out_of_balance", S, ("Terminal and host totals differ (对账不平).", "终端与主机的结算总额不一致（对账不平）。"), ("Compare the detail report; the differences go to reconciliation.", "核对明细；差异转入对账处理。"), "resume_settlement", 0.10),
    _c("batch.sequence_mismatch", S, ("The terminal's batch number is not the one the host expects.", "终端批次号与主机不一致。"), ("None: signing on again adopts the host's batch number.", "无需处理：重新签到即采用主机批次号。"), "sign_on", 0.03),
    _c("batch.already_settled", S, ("The host had already closed this batch.", "主机已关闭该批次。"), ("Confirm the settled totals with the acquirer.", "与收单机构确认已结算的金额。"), "resume_settlement", 0.02),
    _c("reversal.stuck", S, ("A reversal could not be delivered, blocking new online work.", "冲正无法送达，阻塞了后续联机交易。"), ("Call the acquirer with the trace number.", "携带流水号联系收单机构。"), "send_reversals", 0.04),
    _c("network.unstable", S, ("The host did not answer in time.", "主机未能及时应答。"), ("Check the router or the SIM signal.", "检查路由器或 SIM 卡信号。"), "resume_settlement", 0.10),
    _c("host.unreachable", S, ("The acquirer host refuses or drops connections while the link is up.", "本地网络正常，但收单主机拒绝或断开连接。"), ("Contact the acquirer.", "联系收单机构。"), "resume_settlement", 0.07),
    _c("issuer.unavailable", S, ("The issuer or card network is down.", "发卡行或卡组织系统不可用。"), ("Wait and retry; escalate if past the cut-off.", "稍后重试；超过截止时间请上报。"), None, 0.05),
    _c("gateway.error", S, ("The QR-wallet or third-party gateway fails.", "扫码钱包或第三方网关故障。"), ("Wait, then contact the gateway.", "稍候，然后联系网关方。"), None, 0.01),
    _c("permission.denied", S, ("The acquirer does not allow this operation or amount here.", "收单机构不允许此操作或金额。"), ("Ask the acquirer to change the limit or permission.", "请收单机构调整限额或权限。"), None, 0.03),
    _c("terminal.unregistered", S, ("The host does not know this terminal or merchant.", "主机未登记该终端或商户。"), ("Register the terminal and merchant with the acquirer.", "请收单机构登记终端和商户。"), None, 0.02),
    _c("telemetry.missing", S, ("The terminal has not reported for a long time.", "终端长时间未上报状态。"), ("Check power and network on site.", "现场检查电源和网络。"), None, 0.02),
    _c("input.invalid", OP, ("A wrong amount or date was entered.", "输入了错误的金额或日期。"), ("Void before settlement, refund after.", "结算前撤销，结算后退货。"), None, 0.04),
    _c("operation.out_of_order", OP, ("A step was skipped or done in the wrong order.", "操作步骤遗漏或顺序错误。"), ("Use refund instead of void after settlement; sign on before trading.", "结算后请用退货而非撤销；交易前先签到。"), "resume_settlement", 0.03),
    _c("operation.outside_hours", OP, ("Outside business hours or during the host's cut-over.", "不在营业时间或主机日切期间。"), ("Settle inside the settlement window.", "请在结算时段内结算。"), None, 0.03),
    _c("operation.restricted", OP, ("The acquirer restricted this terminal or merchant.", "收单机构限制了该终端或商户。"), ("Contact the acquirer.", "联系收单机构。"), None, 0.01),
    _c("operator.auth_failed", OP, ("The operator password was wrong or the account is locked.", "操作员密码错误或账户已锁定。"), ("A supervisor resets the password.", "请主管重置密码。"), None, 0.03),
    _c("operator.cancelled", OP, ("Settlement was started and cancelled or timed out at a prompt.", "结算被取消或在提示处超时。"), ("Training: use the one-step guided settlement.", "培训：使用一键结算。"), None, 0.01),
    _c("power.interrupted", E, ("Power was lost during a step.", "操作过程中断电。"), ("Use a stable outlet or a UPS.", "使用稳定的电源或 UPS。"), "resume_settlement", 0.05),
    _c("region.outage", E, ("Many terminals in one area lost the host at once.", "同一地区的大量终端同时与主机失联。"), ("Wait; settle when connectivity returns.", "等待恢复后再结算。"), "resume_settlement", 0.02),
    _c("external.undetected", E, ("Nothing the system can see explains it (account frozen, bank holiday, policy change).", "系统可见范围内无法解释（账户冻结、银行假日、政策变化等）。"), ("Call the acquirer with the TID, MID, batch and trace numbers ready.", "准备好终端号、商户号、批次号和流水号，联系收单机构。"), None, 0.01),
)  # fmt: skip

BY_ID: dict[str, Cause] = {c.id: c for c in CAUSES}


def cause(cause_id: str) -> Cause:
    try:
        return BY_ID[cause_id]
    except KeyError:
        raise KeyError(f"no cause {cause_id!r} in the catalog (shared/causes.md)") from None
