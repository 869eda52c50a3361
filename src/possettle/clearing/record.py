"""One ACOM / ACOMA record as a typed value: amounts in integer fen, times as datetimes, the
card number masked (first 6, last 4). Field names and order are :mod:`.layout`'s."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_CLEAR_PAN = re.compile(r"^\d{12,19}$")
_MASKED_PAN = re.compile(r"^\d{6}\*+\d{4}$")


def mask_pan(pan: str) -> str:
    """A card number with all but the first 6 and last 4 digits replaced by ``*``.

    >>> mask_pan("6222021234567890123")
    '622202*********0123'
    """
    if _CLEAR_PAN.match(pan):
        return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]
    return pan


def is_clear_pan(value: str) -> bool:
    """True when a value looks like a card number in clear (12–19 digits, nothing masked)."""
    return bool(_CLEAR_PAN.match(value))


def is_masked_pan(value: str) -> bool:
    """True when a value is a masked card number (6 digits, ``*``s, 4 digits)."""
    return bool(_MASKED_PAN.match(value))


@dataclass(frozen=True, slots=True)
class AcomRecord:
    """One general transaction record. The first 33 fields are ACOM's; the rest are ACOMA's
    and default to blank or zero, which is how an ACOM file is read into this type."""

    acquirer_agent_id: str
    forwarding_inst_id: str
    stan: str
    transmitted_at: datetime
    pan: str
    amount: int
    message_type: str
    processing_code: str
    mcc: str
    terminal_id: str
    merchant_id: str
    rrn: str
    partial_amount: int = 0
    cardholder_fee: int = 0
    pos_condition_code: str = "00"
    auth_code: str = ""
    receiving_inst_id: str = ""
    original_stan: str = "000000"
    response_code: str = "00"
    pos_entry_mode: str = "000"
    acquirer_fee_receivable: int = 0
    acquirer_fee_payable: int = 0
    switching_fee: int = 0
    single_dual_flag: str = ""
    card_sequence_number: str = ""
    terminal_read_capability: str = ""
    ic_condition_code: str = ""
    original_transmitted_at: datetime | None = None
    issuer_inst_id: str = ""
    region_flag: str = ""
    terminal_type: str = ""
    eci: str = ""
    installment_fee: int = 0
    # ACOMA
    other_info: str = ""
    sending_clearing_inst: str = ""
    receiving_clearing_inst: str = ""
    reversal_flag: str = ""
    void_flag: str = ""
    clearing_date: str = "0000"
    clearing_session: str = ""
    merchant_name: str = ""
    currency: str = "156"
    auto_discount_fee: int = 0
    merchant_fee: int = 0
    merchant_settlement_bank: str = ""
    merchant_settlement_bank_fee: int = 0
    role_1: str = ""
    role_1_fee: int = 0
    role_2: str = ""
    role_2_fee: int = 0
    role_3: str = ""
    role_3_fee: int = 0
    role_4: str = ""
    role_4_fee: int = 0
    role_5: str = ""
    role_5_fee: int = 0
    role_6: str = ""
    role_6_fee: int = 0
    role_7: str = ""
    role_7_fee: int = 0
    role_8: str = ""
    role_8_fee: int = 0
    role_9: str = ""
    role_9_fee: int = 0
    custom_fee_1: int = 0
    custom_fee_2: int = 0
    custom_fee_3: int = 0
    transfer_in_pan: str = ""
    reserved: str = ""
