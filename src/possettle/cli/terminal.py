"""``possettle terminal``: a POS terminal kept in a directory, driven from the shell.

Each command opens the terminal's journal, first finishes whatever a previous process left
interrupted (pending reversals, offline advices, an unfinished settlement), does its own work
and closes the journal cleanly. Messages a merchant sees are in English and Chinese.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Iterator
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich import box
from rich.table import Table

from possettle.cli.common import JsonOption, cells, err, out, print_json
from possettle.crypto.errors import KeyMaterialError
from possettle.errors import ConfigError, PossettleError
from possettle.iso8583.codes import describe
from possettle.iso8583.framing import version_digits
from possettle.terminal.config import TerminalConfig
from possettle.terminal.errors import (
    Refused,
    SoftwareCrash,
)
from possettle.terminal.operators import Operator, Role
from possettle.terminal.printer.condition import PrinterState, set_state
from possettle.terminal.reader import ReaderState
from possettle.terminal.reader import set_state as set_reader_state
from possettle.terminal.validation import parse_amount

if TYPE_CHECKING:
    from possettle.terminal.informer import Informer
    from possettle.terminal.pos import Pos
    from possettle.terminal.transactions import TxnResult

# The terminal's heavier modules are imported inside the commands that use them, so that
# `possettle terminal status` stays quick (possettle/cli/lazy.py, bench/cli.py).

T = TypeVar("T")

app = typer.Typer(
    help="A POS terminal: sign-on, sales, settlement, receipts.", no_args_is_help=True
)
operator_app = typer.Typer(help="Operators: codes, roles and passwords.", no_args_is_help=True)
app.add_typer(operator_app, name="operator")

DirOption = Annotated[
    Path,
    typer.Option(
        "--dir", envvar="POSSETTLE_TERMINAL_DIR", help="The terminal's directory.", file_okay=False
    ),
]
PinOption = Annotated[
    str | None,
    typer.Option(
        "--pin",
        help="The cardholder's PIN (encrypted under the PIK); '-' reads it from standard input "
        "or a hidden prompt (keeps it out of shell history and ps).",
        show_default=False,
    ),
]
OperatorOption = Annotated[
    str | None, typer.Option("--operator", help="Operator code (when operators are set up).")
]
PasswordOption = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="POSSETTLE_OPERATOR_PASSWORD",
        help="Operator password.",
        show_default=False,
    ),
]


@contextlib.contextmanager
def _boundary(as_json: bool) -> Iterator[None]:
    """Refusals and errors: both languages for people, one JSON object for programs."""
    try:
        yield
    except Refused as exc:
        if as_json:
            print_json({"ok": False, "refused": exc.as_dict()})
        else:
            err().print(f"[bold red]refused:[/] {exc.en}\n[bold red]拒绝：[/]{exc.zh}")
        raise typer.Exit(1) from None
    except PossettleError as exc:
        from possettle.explain import explain

        en, zh = (text := explain(exc)).en, text.zh
        if as_json:
            print_json({"ok": False, "error": str(exc), "type": type(exc).__name__,
                        "message": {"en": en, "zh": zh}})  # fmt: skip
        else:
            err().print(f"error: {en}\n错误：{zh}", soft_wrap=True, markup=False)
        raise typer.Exit(1) from None


SOFTWARE_CRASH_EXIT = 70  # EX_SOFTWARE


def _run(directory: Path, as_json: bool, work: Callable[[Pos], Awaitable[T]]) -> T:
    from possettle.terminal.pos import Pos

    async def go() -> T:
        async with Pos.session(directory) as pos:
            return await work(pos)

    with _boundary(as_json):
        try:
            return asyncio.run(go())
        except SoftwareCrash as exc:
            # Journaled by the core; the process exits EX_SOFTWARE, the open marker still set.
            err().print(
                f"[bold red]software crash:[/] {exc.kind} (journaled)\n"
                f"[bold red]软件故障：[/]{exc.kind}（已记入流水，再次运行将从中断处继续）"
            )
            raise typer.Exit(SOFTWARE_CRASH_EXIT) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _login(pos: Pos, operator: str | None, password: str | None) -> Operator:
    return pos.login(operator, password)


def _show_txn(result: TxnResult, as_json: bool) -> None:
    from possettle.terminal.status_words import yuan

    code = describe(result.code) if result.code else None
    if as_json:
        data = result.as_dict()
        data["message"] = {"en": code.en, "zh": code.zh} if code else None
        print_json(data)
    else:
        verdict = "APPROVED 交易成功" if result.approved else "DECLINED 交易失败"
        if result.offline:
            verdict = "APPROVED OFFLINE 离线批准 (will be uploaded 待上送)"
        # two short lines, so that neither wraps on an 80-column screen or a piped output
        out().print(
            f"[bold]{verdict}[/]  {result.kind.value} STAN {result.stan:06d} "
            f"batch {result.batch:06d}",
            soft_wrap=True,
        )
        out().print(
            f"amount 金额 {yuan(result.amount)}  card 卡号 {result.pan_masked}",
            soft_wrap=True,
            markup=False,
        )
        if code and not result.approved:
            out().print(f"response {result.code}: {code.en} / {code.zh}")
        elif result.state.value == "pending":
            out().print("no reply from the host: a reversal is queued / 主机无应答，已登记冲正")
    if not result.approved:
        raise typer.Exit(1)


# ------------------------------------------------------------------------------ commands


@app.command("init")
def init_command(
    directory: DirOption,
    tid: Annotated[str, typer.Option("--tid", help="Terminal id (8 characters).")],
    mid: Annotated[str, typer.Option("--mid", help="Merchant id (15 characters).")],
    tmk: Annotated[
        str,
        typer.Option(
            "--tmk",
            help="The TMK as 32 hex digits; '-' reads it from standard input or a hidden prompt "
            "(keeps it out of shell history and ps).",
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="The acquirer host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The host's port.")] = 5000,
    version: Annotated[
        str,
        typer.Option(
            "--version", metavar="MAJOR.MINOR.PATCH", help="Software version, e.g. 1.2.3."
        ),
    ] = "1.0.0",
    region: Annotated[str, typer.Option("--region", help="Region (fleet grouping).")] = "",
    merchant_name: Annotated[str, typer.Option("--merchant-name")] = "possettle merchant",
    printer: Annotated[
        str, typer.Option("--printer", help="sim | dummy | file:PATH | net:HOST:PORT")
    ] = "sim",
    max_journal_bytes: Annotated[int | None, typer.Option("--max-journal-bytes")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-key an existing terminal.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Create a terminal directory: configuration, journal and the sealed TMK."""
    from possettle.cli.secrets import read_secret
    from possettle.crypto.keys import Key, check_value_text
    from possettle.terminal.setup import init_terminal

    with _boundary(as_json):
        try:
            key = Key.from_hex(read_secret("--tmk", tmk) or "")
        except KeyMaterialError as exc:
            raise ConfigError.said("terminal.bad_tmk", reason=exc) from exc
        try:
            # the version is shown and typed as 1.2.3; six digits (010203) are its wire form
            digits = version if version.isdigit() else version_digits(version)
        except ValueError as exc:
            raise ConfigError.said("terminal.bad_version", reason=exc) from exc
        cfg = TerminalConfig(
            tid=tid,
            mid=mid,
            host=host,
            port=port,
            version=digits,
            region=region,
            merchant_name=merchant_name,
            printer=printer,
            max_journal_bytes=max_journal_bytes,
        )
        init_terminal(directory, cfg, key, force=force)
        data = {
            "dir": str(directory),
            "tid": tid,
            "mid": mid,
            "host": f"{host}:{port}",
            "tmk_check_value": check_value_text(key),
        }
        if as_json:
            print_json(data)
        else:
            out().print(
                f"terminal {tid} ready in {directory} (TMK check value {data['tmk_check_value']})"
            )


@app.command("signon")
def signon_command(
    directory: DirOption,
    operator: OperatorOption = None,
    password: PasswordOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sign on: load working keys (check values verified), adopt the host's batch and time."""

    async def work(pos: Pos) -> None:
        op = _login(pos, operator, password)
        result = await pos.sign_on(op)
        data = {
            "code": result.code,
            "batch": result.batch,
            "pik_check": result.pik_check,
            "mak_check": result.mak_check,
            "clock_offset_s": result.clock_offset,
        }
        if as_json:
            print_json(data)
        else:
            out().print(
                f"signed on 签到成功: batch {result.batch:06d}, PIK {result.pik_check}, "
                f"MAK {result.mak_check}, clock offset {result.clock_offset:+.0f}s"
            )

    _run(directory, as_json, work)


@app.command("signoff")
def signoff_command(directory: DirOption, as_json: JsonOption = False) -> None:
    """Sign off (0820): the working keys are dropped; the next command signs on again."""

    async def work(pos: Pos) -> None:
        await pos.terminal.sign_off()

    _run(directory, as_json, work)
    if as_json:
        print_json({"ok": True})
    else:
        out().print("signed off 已签退")


@app.command("echo")
def echo_command(directory: DirOption, as_json: JsonOption = False) -> None:
    """Echo test (0820): is the host there, and how fast?"""

    async def work(pos: Pos) -> None:
        rtt = await pos.terminal.echo()
        if as_json:
            print_json({"ok": True, "round_trip_ms": round(rtt * 1000, 1)})
        else:
            out().print(f"host answered in {rtt * 1000:.1f} ms / 主机应答")

    _run(directory, as_json, work)


@app.command("idle")
def idle_command(
    directory: DirOption,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            min=0,
            help="Stop after this many seconds (default: until Ctrl-C or SIGTERM).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Stay idle and keep the host informed: echoes and status reports on the schedule in
    terminal.json (echo_idle_s, status_report_s), until stopped."""
    from possettle.terminal.informer import Informer

    cfg = _config(directory, as_json)
    if not as_json:
        err().print(f"{_schedule(cfg)} (Ctrl-C stops)", soft_wrap=True, markup=False)

    async def work(pos: Pos) -> dict[str, Any]:
        # The terminal does nothing else meanwhile: the informer runs in this task, so a
        # failure in it ends the command at once, and with both duties off it returns at once.
        informer = Informer(pos.terminal)
        task = asyncio.current_task()
        assert task is not None
        interrupted: list[int] = []

        def interrupt(sig: int) -> None:
            interrupted.append(sig)
            task.cancel()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt, sig)
        try:
            async with asyncio.timeout(duration):
                await informer.run()
        except TimeoutError:
            pass  # --duration is up
        except asyncio.CancelledError:
            if not interrupted:
                raise
            task.uncancel()  # Ctrl-C or SIGTERM: a clean stop
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        return {"ok": True, "link": informer.state.value, **_counts(informer)}

    data = _run(directory, as_json, work)
    if as_json:
        print_json(data)
        return
    out().print(
        f"echoes {data['echo_answered']}/{data['echo_sent']} answered, status reports "
        f"{data['status_report_answered']}/{data['status_report_sent']} answered; "
        f"link {data['link']} / 链路{_LINK_ZH[data['link']]}"
    )


_LINK_ZH = {"up": "正常", "down": "中断", "unknown": "状态未知"}


def _config(directory: Path, as_json: bool) -> TerminalConfig:
    with _boundary(as_json):
        return TerminalConfig.load(directory)
    raise AssertionError("unreachable")  # pragma: no cover


def _schedule(cfg: TerminalConfig) -> str:
    echo = f"an echo after {cfg.echo_idle_s:g} s idle" if cfg.echo_idle_s else "no echoes"
    report = (
        f"a status report every {cfg.status_report_s:g} s"
        if cfg.status_report_s
        else "no status reports"
    )
    return f"terminal {cfg.tid} idle: {echo}, {report}"


def _counts(informer: Informer) -> dict[str, int]:
    from possettle.terminal.keepalive import Duty

    return {
        f"{duty.value}_{what}": informer.counts[f"{duty.value}_{what}"]
        for duty in Duty
        for what in ("sent", "answered")
    }


@app.command("sale")
def sale_command(
    directory: DirOption,
    amount: Annotated[str, typer.Option("--amount", help="Amount, e.g. 12.34.")],
    pan: Annotated[str, typer.Option("--pan", help="Card number (never printed or logged).")],
    expiry: Annotated[str, typer.Option("--expiry", help="Card expiry YYMM.")],
    pin: PinOption = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline/--no-offline", help="Approve offline when the host is unreachable."
        ),
    ] = True,
    operator: OperatorOption = None,
    password: PasswordOption = None,
    as_json: JsonOption = False,
) -> None:
    """A sale (0200); offline within limits when the host cannot be reached."""
    from possettle.cli.secrets import read_secret

    with _boundary(as_json):
        pin = read_secret("--pin", pin)

    async def work(pos: Pos) -> TxnResult:
        op = _login(pos, operator, password)
        return await pos.sale(
            pan, parse_amount(amount), expiry=expiry, pin=pin, op=op, allow_offline=offline
        )

    _show_txn(_run(directory, as_json, work), as_json)


@app.command("balance")
def balance_command(
    directory: DirOption,
    pan: Annotated[str, typer.Option("--pan", help="Card number (never printed or logged).")],
    expiry: Annotated[str, typer.Option("--expiry", help="Card expiry YYMM.")],
    pin: PinOption = None,
    operator: OperatorOption = None,
    password: PasswordOption = None,
    as_json: JsonOption = False,
) -> None:
    """Balance enquiry (余额查询): the card's balance from its issuer; not a transaction."""
    from possettle.cli.secrets import read_secret
    from possettle.terminal.enquiry import BalanceResult

    with _boundary(as_json):
        pin = read_secret("--pin", pin)

    async def work(pos: Pos) -> BalanceResult:
        op = _login(pos, operator, password)
        return await pos.balance(pan, expiry=expiry, pin=pin, op=op)

    result = _run(directory, as_json, work)
    code = describe(result.code)
    if as_json:
        data = result.as_dict()
        data["message"] = {"en": code.en, "zh": code.zh}
        print_json(data)
    elif result.balance is not None:
        whole, fen = divmod(abs(result.balance), 100)  # integer fen, never a float
        sign = "-" if result.balance < 0 else ""
        unit = "CNY" if result.currency == "156" else f"currency {result.currency}"
        out().print(
            f"[bold]balance 余额: {unit} {sign}{whole:,}.{fen:02d}[/]  (STAN {result.stan:06d})"
        )
    else:
        out().print(f"[bold]balance enquiry refused 余额查询失败[/]  STAN {result.stan:06d}")
        out().print(f"response {result.code}: {code.en} / {code.zh}")
    if result.balance is None:
        raise typer.Exit(1)


@app.command("void")
def void_command(
    directory: DirOption,
    stan: Annotated[int, typer.Option("--stan", help="Trace number of the sale to void.")],
    operator: OperatorOption = None,
    password: PasswordOption = None,
    as_json: JsonOption = False,
) -> None:
    """Void a sale of the open batch."""

    async def work(pos: Pos) -> TxnResult:
        return await pos.void(stan, op=_login(pos, operator, password))

    _show_txn(_run(directory, as_json, work), as_json)


@app.command("refund")
def refund_command(
    directory: DirOption,
    amount: Annotated[str, typer.Option("--amount", help="Amount to refund, e.g. 5.00.")],
    orig_batch: Annotated[int, typer.Option("--orig-batch", help="Batch of the original sale.")],
    orig_stan: Annotated[int, typer.Option("--orig-stan", help="Trace number of the original.")],
    orig_date: Annotated[
        str | None, typer.Option("--orig-date", help="MMDD of the original.")
    ] = None,
    rrn: Annotated[str | None, typer.Option("--rrn", help="RRN of the original.")] = None,
    pan: Annotated[str | None, typer.Option("--pan", help="Card (if not in this journal).")] = None,
    operator: OperatorOption = None,
    password: PasswordOption = None,
    as_json: JsonOption = False,
) -> None:
    """Refund (0220) against an original sale."""

    async def work(pos: Pos) -> TxnResult:
        return await pos.refund(
            parse_amount(amount),
            orig_batch=orig_batch,
            orig_stan=orig_stan,
            orig_date=orig_date,
            rrn=rrn,
            pan=pan,
            op=_login(pos, operator, password),
        )

    _show_txn(_run(directory, as_json, work), as_json)


@app.command("settle")
def settle_command(
    directory: DirOption,
    operator: OperatorOption = None,
    password: PasswordOption = None,
    as_json: JsonOption = False,
) -> None:
    """Settle the open batch (or finish an interrupted settlement), upload if unbalanced."""

    async def work(pos: Pos) -> dict[str, Any]:
        done = await pos.settle(op=_login(pos, operator, password))
        data = done.as_dict()
        if done.ok:
            from possettle.terminal.settlement_report import settlement_report

            data["report"] = settlement_report(pos.journal.conn, done.batch)
        return data

    report = _run(directory, as_json, work)
    if as_json:
        print_json(report)
    else:
        if report["ok"]:
            out().print(
                f"[bold green]settled 结算成功[/] batch {report['batch']:06d}: "
                f"{report['result']} (uploaded {report['uploaded']})"
            )
            from possettle.terminal.settlement_report import report_lines

            _say(report_lines(report["report"], _tz(directory)))
        else:
            f = report["failure"] or {}
            out().print(
                f"[bold red]settlement failed 结算失败[/] batch {report['batch']:06d} at "
                f"step {f.get('step')}: {f.get('message')}"
            )
            out().print(f"原因：{_failure_zh(f)}")
            out().print("run `possettle terminal settle` again to resume / 再次结算将从中断处继续")
        for note in report["notes"]:
            out().print(note)
    if not report["ok"]:
        raise typer.Exit(1)


def _failure_zh(failure: dict[str, Any]) -> str:
    """Why a settlement stopped, in Chinese: the host's answer, or the link."""
    from possettle.messages.catalog import say

    code = str(failure.get("code") or "")
    if len(code) == 2:
        meaning = describe(code)
        return say("settle.answered", code=code, meaning_en=meaning.en, meaning_zh=meaning.zh).zh
    if failure.get("link"):
        return say("settle.link").zh
    return say("settle.stopped").zh


@app.command("reprint")
def reprint_command(
    directory: DirOption,
    voucher: Annotated[
        int | None,
        typer.Option(
            "--voucher", help="Reprint the receipt of this voucher (trace) number, marked REPRINT."
        ),
    ] = None,
    batch: Annotated[
        int | None, typer.Option("--batch", help="With --voucher: the voucher's batch.")
    ] = None,
    settlement: Annotated[
        bool, typer.Option("--settlement", help="Reprint the last settlement slip, marked REPRINT.")
    ] = False,
    operator: OperatorOption = None,
    password: PasswordOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print queued slips and receipts (after paper is loaded); or a copy of one receipt
    (--voucher) or of the last settlement slip (--settlement)."""
    if voucher is not None and settlement:
        with _boundary(as_json):
            raise Refused(
                "input.reprint",
                "--voucher and --settlement: give one of them",
                "--voucher 与 --settlement 只能选一个",
            )

    async def work(pos: Pos) -> int:
        op = _login(pos, operator, password)
        if voucher is None and not settlement:
            return pos.reprint(op=op)
        return pos.reprint_copy(voucher, batch=batch, op=op)

    left = _run(directory, as_json, work)
    if as_json:
        print_json({"ok": left == 0, "waiting": left})
    else:
        out().print(
            "all printed 已全部打印"
            if left == 0
            else f"{left} still waiting: printer not ready / 打印机未就绪，{left} 张待打印"
        )
    if left:
        raise typer.Exit(1)


@app.command("status")
def status_command(directory: DirOption, as_json: JsonOption = False) -> None:
    """Keys (check values only), batch, totals, pending reversals and offline items."""

    async def work(pos: Pos) -> dict[str, Any]:
        return pos.status()

    data = _run(directory, as_json, work)
    if as_json:
        print_json(data)
        return
    from possettle.terminal.status_words import status_lines

    _say(status_lines(data, _tz(directory)))


def _say(lines: list[tuple[str, str]]) -> None:
    """Bilingual lines: the English, then the Chinese indented under it."""
    console = out()
    for en, zh in lines:
        console.print(en, markup=False, soft_wrap=True)
        console.print(f"  {zh}", markup=False, soft_wrap=True)


def _tz(directory: Path) -> tzinfo:
    """The shop's time zone (the policy's), for times on screen."""
    from possettle.terminal.policy import TerminalPolicy

    return TerminalPolicy.from_dict(TerminalConfig.load(directory).policy).tz()


@app.command("list")
def list_command(
    directory: DirOption,
    stan: Annotated[int | None, typer.Option("--stan", help="Voucher (trace) number.")] = None,
    rrn: Annotated[str | None, typer.Option("--rrn", help="Reference number (RRN).")] = None,
    last4: Annotated[
        str | None, typer.Option("--last4", help="The card number's last four digits.")
    ] = None,
    day: Annotated[
        str | None, typer.Option("--date", help="The shop's local date, YYYY-MM-DD.")
    ] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Batch number.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The journal's transactions (查询流水), filtered, with totals per kind; cards masked."""
    from possettle.terminal import history as h

    async def work(pos: Pos) -> dict[str, Any]:
        wanted = h.TxnFilter(
            stan=stan,
            rrn=rrn,
            last4=last4,
            day=None if day is None else h.parse_day(day),
            batch=batch,
        )
        tz = pos.policy.tz()
        rows = h.list_txns(pos.journal.conn, wanted, tz)
        return {
            "transactions": [h.entry(r, tz) for r in rows],
            "totals": h.Totals.of(rows).as_dict(),
        }

    data = _run(directory, as_json, work)
    if as_json:
        print_json(data)
        return
    from possettle.terminal.status_words import yuan

    console = out()
    by_batch: dict[int, list[dict[str, Any]]] = {}
    for e in data["transactions"]:
        by_batch.setdefault(e["batch"], []).append(e)
    for number, entries in by_batch.items():
        console.print(_list_table(number, entries))
    if not by_batch:
        console.print("no transaction matches / 没有符合条件的交易")
    totals = Table("", "count\n笔数", "amount\n金额", box=box.SIMPLE_HEAD, title="totals / 合计")
    t = data["totals"]
    for key, label in (("sales", "sales 消费"), ("voids", "voids 撤销"),
                       ("refunds", "refunds 退货"), ("offline", "offline 离线消费"),
                       ("not_approved", "not approved 未成功")):  # fmt: skip
        totals.add_row(*cells(label, t[key]["count"], yuan(t[key]["amount"])))
    totals.add_row(*cells("net 净额", len(data["transactions"]), yuan(t["net"])))
    console.print(totals)


def _list_table(batch: int, entries: list[dict[str, Any]]) -> Table:
    """One batch's transactions, narrow enough for 80 columns: the full masked card number
    and the amount in fen are in ``--json``."""
    from possettle.terminal.history import KIND_WORDS, STATE_WORDS
    from possettle.terminal.journal.records import TxnKind, TxnState
    from possettle.terminal.status_words import yuan

    table = Table(
        "voucher\n凭证号", "kind\n类型", "state\n状态", "amount\n金额", "card\n卡号",
        "RRN\n参考号", "time\n时间", box=box.SIMPLE_HEAD, pad_edge=False,
        title=f"batch {batch:06d} / 批次 {batch:06d}",
    )  # fmt: skip
    for e in entries:
        kind_en, kind_zh = KIND_WORDS[TxnKind(e["kind"])]
        state_en, state_zh = STATE_WORDS[TxnState(e["state"])]
        if e["voided"]:
            state_en, state_zh = "voided", "已撤销"
        table.add_row(
            *cells(
                f"{e['voucher']:06d}", f"{kind_en}\n{kind_zh}", f"{state_en}\n{state_zh}",
                yuan(e["amount"]), "*" + e["card"][-4:], e["rrn"], e["local_time"][5:16],
            )
        )  # fmt: skip
    return table


@app.command("report")
def report_command(
    directory: DirOption,
    batch: Annotated[
        int | None, typer.Option("--batch", help="A settled batch (default: the last one).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The settlement report (结算总计单) of the last settled batch, or of --batch N."""
    from possettle.terminal.settlement_report import settlement_report

    async def work(pos: Pos) -> dict[str, Any]:
        return settlement_report(pos.journal.conn, batch)

    data = _run(directory, as_json, work)
    if as_json:
        print_json(data)
        return
    from possettle.terminal.settlement_report import report_lines

    _say(report_lines(data, _tz(directory)))


@app.command("export")
def export_command(
    directory: DirOption,
    out_file: Annotated[
        Path, typer.Option("--out", help="The file to write (JSON lines).", dir_okay=False)
    ],
    rescue: Annotated[
        bool,
        typer.Option(
            "--rescue",
            help="Read a corrupt journal page by page and export what can still be read.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Export the journal for service (JSON lines, docs/terminal.md): card numbers masked,
    no keys or password hashes, the configuration without secrets."""
    from possettle.clock import SystemClock
    from possettle.terminal import export

    with _boundary(as_json):
        if rescue:
            from possettle.crypto.vault import Vault
            from possettle.terminal.config import JOURNAL_FILE, KEY_FILE
            from possettle.terminal.rescue.rows import rescue as read_damaged

            key_file = directory / KEY_FILE
            vault = Vault.load_or_create(key_file) if key_file.exists() else None
            found = read_damaged(directory / JOURNAL_FILE, vault)
            summary = export.export_rescue(directory, out_file, SystemClock(), found)
        else:
            summary = export.export_journal(directory, out_file, SystemClock())
    data = {"ok": True, "out": str(out_file), **summary}
    del data["record"]
    if as_json:
        print_json(data)
        return
    _say(export.summary_lines(out_file, summary))


@app.command("rescue")
def rescue_command(
    directory: DirOption,
    out_file: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where the rescue export goes (default: DIR/rescue-<time>.jsonl).",
            dir_okay=False,
        ),
    ] = None,
    tmk: Annotated[
        str | None,
        typer.Option(
            "--tmk",
            help="The TMK (32 hex digits; - reads it from standard input), if the journal lost it.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Replace a corrupt journal with a fresh one holding its unsettled transactions, so
    `terminal settle` can settle them; the corrupt file is kept aside."""
    from possettle.cli.secrets import read_secret
    from possettle.clock import SystemClock
    from possettle.crypto.keys import Key
    from possettle.terminal.rescue.rebuild import rebuild

    with _boundary(as_json):
        key = None
        if tmk is not None:
            try:
                key = Key.from_hex(read_secret("--tmk", tmk) or "")
            except KeyMaterialError as exc:
                raise ConfigError.said("terminal.bad_tmk", reason=exc) from exc
        data = rebuild(directory, SystemClock(), export_to=out_file, tmk=key)
    if as_json:
        print_json(data)
        return
    from possettle.terminal.export import summary_lines

    _say(summary_lines(Path(data["export"]), data["summary"]))
    batch = f"{data['batch']:06d}"
    _say(
        [
            (
                f"Fresh journal ready (damaged one kept as {data['damaged_journal']}); "
                f"open batch {batch}: run `possettle terminal settle` to settle it",
                f"已重建交易流水（损坏文件保存为 {data['damaged_journal']}）；"
                f"当前批次 {batch}：请执行 `possettle terminal settle` 结算",
            )
        ]
    )


@app.command("printer")
def printer_command(
    directory: DirOption,
    state: Annotated[PrinterState, typer.Option("--state", help="The simulated printer's state.")],
    as_json: JsonOption = False,
) -> None:
    """Set the simulated printer's condition: ok, paper_out, cover_open, cutter_jam, overheat or
    offline (it answers nothing)."""
    with _boundary(as_json):
        set_state(directory, state)
    if as_json:
        print_json({"ok": True, "state": state.value})
    else:
        out().print(f"printer state: {state.value}")


@app.command("reader")
def reader_command(
    directory: DirOption,
    state: Annotated[ReaderState, typer.Option("--state", help="The simulated reader's state.")],
    as_json: JsonOption = False,
) -> None:
    """Set the simulated card reader's condition: ok, fault or offline."""
    with _boundary(as_json):
        set_reader_state(directory, state)
    if as_json:
        print_json({"ok": True, "state": state.value})
    else:
        out().print(f"reader state: {state.value}")


@app.command("resume")
def resume_command(directory: DirOption, as_json: JsonOption = False) -> None:
    """Finish interrupted work now: reversals, offline advices, an unfinished settlement."""

    async def work(pos: Pos) -> dict[str, Any]:
        report = await pos.resume()
        return {"ok": True, "settlement": report.as_dict() if report else None}

    data = _run(directory, as_json, work)
    if as_json:
        print_json(data)
    else:
        out().print("nothing left interrupted / 没有未完成的操作")


@app.command("crash-points")
def crash_points_command(as_json: JsonOption = False) -> None:
    """List the named crash points for POSSETTLE_CRASH_AT=NAME[:N]."""
    from possettle.terminal.crashpoints import POINTS

    if as_json:
        print_json(list(POINTS))
        return
    for point in POINTS:
        out().print(point)


@operator_app.command("add")
def operator_add(
    directory: DirOption,
    op_id: Annotated[str, typer.Option("--id", help="Operator code, 2–3 digits.")],
    name: Annotated[str, typer.Option("--name")],
    role: Annotated[Role, typer.Option("--role")],
    new_password: Annotated[
        str,
        typer.Option(
            "--new-password", prompt=True, hide_input=True, help="The new operator's password."
        ),
    ],
    operator: OperatorOption = None,
    password: PasswordOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an operator (a supervisor must log in once operators exist)."""

    async def work(pos: Pos) -> Operator:
        return pos.add_operator(op_id, name, role, new_password, operator, password)

    op = _run(directory, as_json, work)
    if as_json:
        print_json({"id": op.id, "name": op.name, "role": op.role.value})
    else:
        out().print(f"operator {op.id} ({op.role.value}) added")


@operator_app.command("list")
def operator_list(directory: DirOption, as_json: JsonOption = False) -> None:
    """List operators (never their passwords)."""

    async def work(pos: Pos) -> list[Operator]:
        return pos.operators.list()

    ops = _run(directory, as_json, work)
    if as_json:
        print_json(
            [
                {"id": o.id, "name": o.name, "role": o.role.value, "locked_until": o.locked_until}
                for o in ops
            ]
        )
        return
    table = Table("id", "name", "role", "locked until")
    for o in ops:
        table.add_row(*cells(o.id, o.name, o.role.value, o.locked_until or ""))
    out().print(table)
