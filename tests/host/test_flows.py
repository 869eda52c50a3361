"""Every PS-CUP/1 message flow against a real host on a real socket (SQLite and PostgreSQL)."""

from __future__ import annotations

from possettle.crypto.keys import Key, check_value
from possettle.iso8583.fields import (
    Field60,
    HalfTotals,
    NetworkCode,
    SettlementTotals,
    SettleResult,
    UploadRecord,
)
from possettle.link import requests as m
from possettle.link.client import Link
from tests.host.harness import FOREIGN_PAN, MID, PAN, TID, RunningHost


async def signed_on(host: RunningHost) -> Link:
    link = host.link()
    await link.connect()
    ex = await link.sign_on()
    assert ex.code == "00"
    return link


async def sale(
    link: Link, amount: int, pan: str = PAN, pin: str | None = "123456"
) -> dict[str, str]:
    ex = await link.send(
        m.sale(
            TID,
            MID,
            link.next_stan(),
            link.batch,
            pan=pan,
            amount=amount,
            expiry="3012",
            pin=pin,
            pik=link.pik,
        )
    )
    return ex.reply


def totals(
    dom: tuple[int, int, int, int], fgn: tuple[int, int, int, int] = (0, 0, 0, 0)
) -> SettlementTotals:
    return SettlementTotals(HalfTotals(*dom), HalfTotals(*fgn))


async def test_sign_on_issues_working_keys_whose_check_values_verify(host: RunningHost) -> None:
    link = await signed_on(host)
    assert link.pik is not None and link.mak is not None
    assert len(link.pik) == 16 and len(link.mak) == 8
    assert link.batch == 1
    await link.close()


async def test_echo_and_sign_off(host: RunningHost) -> None:
    link = await signed_on(host)
    ex = await link.send(m.management(TID, MID, link.next_stan(), 1, NetworkCode.ECHO))
    assert (ex.reply["t"], ex.code) == ("0830", "00")
    ex = await link.send(m.management(TID, MID, link.next_stan(), 1, NetworkCode.SIGN_OFF))
    assert ex.code == "00"
    # after sign-off the host has no working keys for us: a sale is refused with 22
    reply = await sale(link, 100)
    assert reply["39"] == "22"
    await link.close()


async def test_sale_is_approved_with_rrn_auth_code_and_a_verified_mac(host: RunningHost) -> None:
    link = await signed_on(host)
    reply = await sale(link, 12345)
    assert reply["39"] == "00"
    assert reply["t"] == "0210"
    assert len(reply["37"]) == 12 and reply["38"].strip()
    assert reply["63"] == "CUP"
    assert "64" in reply  # Link.send already verified it
    await link.close()


async def test_wrong_pin_and_bad_card_are_declined_by_the_issuer(host: RunningHost) -> None:
    link = await signed_on(host)
    assert (await sale(link, 100, pin="000000"))["39"] == "55"
    assert (await sale(link, 100, pan="6222021234567890123"))["39"] == "14"
    await link.close()


async def test_repeated_sale_gets_the_stored_reply_and_counts_once(host: RunningHost) -> None:
    link = await signed_on(host)
    req = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=5000, expiry="3012")
    first = await link.send(req)
    again = await link.send(req)
    assert first.code == again.code == "00"
    assert first.reply["37"] == again.reply["37"] and first.reply["38"] == again.reply["38"]
    # same key, other content: refused
    other = dict(req, **{"4": "000000009999"})
    assert (await link.send(other)).code == "94"
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((5000, 1, 0, 0))))
    assert ex.reply["48"][30] == "1"  # balanced: counted once
    await link.close()


async def test_bad_mac_is_refused_with_a0_and_sign_on_requirement(host: RunningHost) -> None:
    link = await signed_on(host)
    good_mak = link.mak
    link.mak = Key.from_hex("0123456789ABCDEF")
    ex = await link.send(m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=100, expiry="3012"))
    assert ex.code == "A0"
    assert ex.header.requirement == 3
    assert "64" not in ex.reply
    link.mak = good_mak
    # the host wants a fresh sign-on: replies carry requirement 3 until then
    ex = await link.send(m.management(TID, MID, link.next_stan(), 1, NetworkCode.ECHO))
    assert ex.header.requirement == 3
    await link.sign_on()
    ex = await link.send(m.management(TID, MID, link.next_stan(), 1, NetworkCode.ECHO))
    assert ex.header.requirement == 0
    # the refused sale had no effect on the ledger
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((0, 0, 0, 0))))
    assert ex.reply["48"][30] == "1"
    await link.close()


async def test_unknown_terminal_gets_97_and_wrong_merchant_03(host: RunningHost) -> None:
    link = host.link(tid="99999999")
    ex = await link.send(m.sign_on("99999999", MID, 1, 1))
    assert ex.code == "97"
    ex = await link.send(m.sign_on(TID, "999999999999999", 2, 1))
    assert ex.code == "03"
    await link.close()


async def test_void_reverses_the_sale_in_the_totals_and_cannot_repeat(host: RunningHost) -> None:
    link = await signed_on(host)
    reply = await sale(link, 3000)
    orig_stan = int(reply["11"])
    void = m.void(
        TID,
        MID,
        link.next_stan(),
        1,
        pan=PAN,
        amount=3000,
        orig_batch=1,
        orig_stan=orig_stan,
        rrn=reply["37"],
        auth_code=reply["38"],
    )
    assert (await link.send(void)).code == "00"
    void2 = dict(void, **{"11": f"{link.next_stan():06d}"})
    assert (await link.send(void2)).code == "12"  # already voided
    missing = dict(void, **{"11": f"{link.next_stan():06d}", "61": "000001999999"})
    assert (await link.send(missing)).code == "25"
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((0, 0, 0, 0))))
    assert ex.reply["48"][30] == "1"
    await link.close()


async def test_refund_checks_its_original_and_counts_as_credit(host: RunningHost) -> None:
    link = await signed_on(host)
    reply = await sale(link, 10000)
    stan = int(reply["11"])

    def refund(amount: int) -> dict[str, str]:
        return m.refund(
            TID,
            MID,
            link.next_stan(),
            1,
            pan=PAN,
            amount=amount,
            orig_batch=1,
            orig_stan=stan,
            orig_date=reply["13"],
            rrn=reply["37"],
        )

    assert (await link.send(refund(6000))).code == "00"
    assert (await link.send(refund(5000))).code == "13"  # would exceed the original
    assert (await link.send(refund(4000))).code == "00"
    bad = refund(100)
    bad["37"] = "000000999999"
    assert (await link.send(bad)).code == "25"
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((10000, 1, 10000, 2))))
    assert SettlementTotals.parse(ex.reply["48"]).balanced
    await link.close()


async def test_offline_advice_is_booked_once(host: RunningHost) -> None:
    link = await signed_on(host)
    adv = m.offline_advice(
        TID,
        MID,
        link.next_stan(),
        1,
        pan=PAN,
        amount=8800,
        time_hhmmss="084500",
        date_mmdd="1126",
        auth_code="F00006",
    )
    assert (await link.send(adv)).code == "00"
    assert (await link.send(adv)).code == "00"
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((8800, 1, 0, 0))))
    assert SettlementTotals.parse(ex.reply["48"]).balanced
    await link.close()


async def test_reversal_is_applied_once_and_keeps_the_original_stan(host: RunningHost) -> None:
    link = await signed_on(host)
    req = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=2000, expiry="3012")
    assert (await link.send(req)).code == "00"
    rev = m.reversal(req, "98")
    first = await link.send(rev)
    again = await link.send(rev)
    assert first.code == again.code == "00"
    assert first.reply["11"] == req["11"]
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((0, 0, 0, 0))))
    assert SettlementTotals.parse(ex.reply["48"]).balanced
    await link.close()


async def test_reversal_before_its_original_makes_the_original_decline(host: RunningHost) -> None:
    link = await signed_on(host)
    req = m.sale(TID, MID, link.next_stan(), 1, pan=PAN, amount=2500, expiry="3012")
    assert (await link.send(m.reversal(req, "98"))).code == "25"
    assert (await link.send(req)).code == "12"
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((0, 0, 0, 0))))
    assert SettlementTotals.parse(ex.reply["48"]).balanced
    await link.close()


async def test_unbalanced_settlement_with_batch_upload_closes_the_batch(host: RunningHost) -> None:
    link = await signed_on(host)
    r1 = await sale(link, 12345)
    r2 = await sale(link, 700, pan=FOREIGN_PAN, pin=None)
    # the terminal claims one more domestic sale than the host knows
    claimed = totals((12345 + 999, 2, 0, 0), (700, 1, 0, 0))
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, claimed))
    assert ex.code == "00"
    host_totals = SettlementTotals.parse(ex.reply["48"])
    assert host_totals.domestic.result is SettleResult.UNBALANCED
    assert host_totals.foreign.result is SettleResult.BALANCED
    assert (host_totals.domestic.debit_amount, host_totals.domestic.debit_count) == (12345, 1)
    # a repeated 0500 gets the same answer
    assert (await link.send(ex.request)).reply["48"] == ex.reply["48"]
    records = [
        UploadRecord(True, int(r1["11"]), PAN, 12345),
        UploadRecord(True, 777, PAN, 999),  # the host lacks this one
    ]
    up = await link.send(m.batch_upload(TID, MID, link.next_stan(), 1, records))
    assert up.code == "00"
    assert (await link.send(up.request)).code == "00"  # a resumed upload is harmless
    end = await link.send(m.upload_end(TID, MID, link.next_stan(), 1, 2, balanced=False))
    assert end.code == "00"
    # the batch is closed: a new 0500 for it is a duplicate; the host now expects batch 2
    again = await link.send(m.settlement(TID, MID, link.next_stan(), 1, claimed))
    assert again.code == "94"
    ex = await link.sign_on()
    assert Field60.parse(ex.reply["60"]).batch == 2
    assert r2["63"] == "VIS"
    await link.close()


async def test_balanced_settlement_ends_with_207_and_advances_the_batch(host: RunningHost) -> None:
    link = await signed_on(host)
    await sale(link, 100)
    ex = await link.send(m.settlement(TID, MID, link.next_stan(), 1, totals((100, 1, 0, 0))))
    assert SettlementTotals.parse(ex.reply["48"]).balanced
    end = await link.send(m.upload_end(TID, MID, link.next_stan(), 1, 0, balanced=True))
    assert end.code == "00"
    # old batch number now gets 77 for new work
    assert (await sale(link, 100))["39"] == "77"
    await link.sign_on()
    assert link.batch == 2
    assert (await sale(link, 100))["39"] == "00"
    await link.close()


async def test_status_report_is_kept_and_bad_json_is_a_format_error(host: RunningHost) -> None:
    link = await signed_on(host)
    ex = await link.send(m.status_report(TID, MID, link.next_stan(), 1, b'{"ok":true}'))
    assert ex.code == "00"
    ex = await link.send(m.status_report(TID, MID, link.next_stan(), 1, b"not json"))
    assert ex.code == "30"
    await link.close()


def test_check_values_of_the_vector_tmk() -> None:
    from tests.host.harness import TMK

    assert check_value(TMK).hex().upper() == "43C6CCCB"
