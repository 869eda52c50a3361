"""A fixed record the clearing tests share (masked PAN, amounts in fen)."""

from __future__ import annotations

from datetime import datetime

import pytest

from possettle.clearing.record import AcomRecord


def make_record(**changes: object) -> AcomRecord:
    """The fixed record with some fields changed."""
    base: dict[str, object] = {
        "acquirer_agent_id": "48020000",
        "forwarding_inst_id": "48020000",
        "stan": "000123",
        "transmitted_at": datetime(2026, 12, 8, 10, 30, 5),
        "pan": "622202*********0123",
        "amount": 12345,
        "message_type": "0200",
        "processing_code": "000000",
        "mcc": "5411",
        "terminal_id": "T0000001",
        "merchant_id": "898310048990001",
        "rrn": "120810300501",
        "auth_code": "A1B2C3",
        "receiving_inst_id": "01020000",
        "pos_entry_mode": "051",
        "acquirer_fee_receivable": 38,
        "switching_fee": -5,
        "single_dual_flag": "0",
        "card_sequence_number": "001",
        "terminal_read_capability": "5",
        "ic_condition_code": "0",
        "issuer_inst_id": "01020000",
        "region_flag": "1",
        "terminal_type": "03",
    }
    base.update(changes)
    return AcomRecord(**base)  # type: ignore[arg-type]


@pytest.fixture
def record() -> AcomRecord:
    return make_record()
