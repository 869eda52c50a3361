"""The wallets' daily bills, read into one typed row (see docs/clearing.md, "Wallet bills").

* :mod:`.model` the common row, the bad line and the result with its summary tie-out
* :mod:`.alipay` Alipay's GBK zip of a detail and a summary CSV
* :mod:`.wechat` WeChat Pay's backquoted UTF-8 CSV of a detail and a summary part
"""

from possettle.clearing.bills.alipay import parse_alipay_bill, read_alipay_bill
from possettle.clearing.bills.model import (
    BadLine,
    BillResult,
    BillRow,
    BillTotals,
    Mismatch,
    TradeType,
    Wallet,
)
from possettle.clearing.bills.wechat import parse_wechat_bill, read_wechat_bill

__all__ = [
    "BadLine",
    "BillResult",
    "BillRow",
    "BillTotals",
    "Mismatch",
    "TradeType",
    "Wallet",
    "parse_alipay_bill",
    "parse_wechat_bill",
    "read_alipay_bill",
    "read_wechat_bill",
]
