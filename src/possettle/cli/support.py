"""``possettle support``: the support desk for any terminal that shows "结算失败".

``possettle support`` interviews at the terminal (Rich prompts); ``support diagnose`` is one
step without prompts (call it again with the answers so far to go on); ``support questions``
and ``support acquirers`` list the ids scripts pass to it. See docs/support.md, "Commands".

Language: the interview speaks Chinese unless ``--lang en`` or ``--lang both`` (the merchant on
the phone reads Chinese); ``support diagnose`` shows both, like ``possettle doctor``.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from possettle.cli.common import JsonOption, err, fail, out, print_json, user_errors

if TYPE_CHECKING:
    from possettle.support.case import Case
    from possettle.support.result import Result


class Lang(StrEnum):
    ZH = "zh"
    EN = "en"
    BOTH = "both"


app = typer.Typer(add_completion=False)

ScreenOption = Annotated[
    str | None,
    typer.Option("--screen", help="What the terminal's screen says, as the merchant reads it."),
]
CodeOption = Annotated[
    str | None, typer.Option("--code", help="The response code shown (e.g. A0, 94, 51).")
]
AcquirerOption = Annotated[
    str | None,
    typer.Option(
        "--acquirer", help="Whose terminal it is (an id of `possettle support acquirers`)."
    ),
]
ModelOption = Annotated[
    str | None, typer.Option("--model", help="The terminal's brand or model (PAX, 新大陆 …).")
]
PhotoOption = Annotated[
    Path | None,
    typer.Option("--photo", help="A photo of the screen (PNG, JPEG …), read with OCR."),
]
HostDbOption = Annotated[
    str | None,
    typer.Option(
        "--host-db", help="The host's ledger, when the terminal is one of ours (with --tid)."
    ),
]
TidOption = Annotated[
    str | None, typer.Option("--tid", help="Our terminal's TID in the --host-db ledger.")
]
DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="Our terminal's directory: the doctor reads its journal.", file_okay=False
    ),
]


def _setup() -> None:
    from possettle.logs import configure_logging

    configure_logging(level=logging.WARNING)


def _diagnose(case: Case) -> Result:
    """One step of the engine; a bad id or photo found on the way is a usage error."""
    from possettle.support.engine import diagnose
    from possettle.support.errors import PhotoError, UnknownIdError

    try:
        return diagnose(case)
    except (UnknownIdError, PhotoError) as e:
        fail(e, status=2)


def _check_ledger(host_db: str | None) -> None:
    if host_db is not None:
        from possettle.cli.common import require_ledger

        require_ledger(host_db)


@app.callback(invoke_without_command=True)
def interview_command(
    ctx: typer.Context,
    lang: Annotated[
        Lang, typer.Option("--lang", help="The interview's language (both: Chinese and English).")
    ] = Lang.ZH,
    screen: ScreenOption = None,
    code: CodeOption = None,
    acquirer: AcquirerOption = None,
    model: ModelOption = None,
    photo: PhotoOption = None,
    host_db: HostDbOption = None,
    tid: TidOption = None,
    directory: DirOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Prompts go to stderr and the final result is printed as JSON on stdout.",
        ),
    ] = False,
) -> None:
    """The support desk: guided troubleshooting for any POS terminal that shows 结算失败
    (settlement failed), in Chinese and English.

    Without a subcommand: an interview at the terminal. It asks what the screen says (or the
    path of a photo of it) and the response code, shows the most likely causes with their
    evidence, asks the question that tells the most (answer by number; 0 = don't know) until
    one cause is likely enough, then says what to do, what NOT to do and what to give the
    acquirer. Chinese by default (--lang en, --lang both)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console

    from possettle.cli.support_case import build_case
    from possettle.cli.support_interview import interview

    _setup()
    with user_errors():
        case = build_case(
            screen=screen, code=code, acquirer=acquirer, model=model, photo=photo,
            answers=(), host_db=host_db, tid=tid, directory=directory,
        )  # fmt: skip
        _check_ledger(host_db)
        console = Console(stderr=True, highlight=False) if as_json else out()
        try:
            result = interview(case, lang.value, console)
        except EOFError:
            err().print("\n(ended: no more input) / （输入结束）", markup=False)
            raise typer.Exit(1) from None
    if as_json:
        print_json(result.as_dict())


@app.command("diagnose")
def diagnose_command(
    screen: ScreenOption = None,
    code: CodeOption = None,
    acquirer: AcquirerOption = None,
    model: ModelOption = None,
    photo: PhotoOption = None,
    answer: Annotated[
        list[str] | None,
        typer.Option(
            "--answer",
            help="An answer so far, QID=AID (`possettle support questions`); repeat it.",
        ),
    ] = None,
    host_db: HostDbOption = None,
    tid: TidOption = None,
    directory: DirOption = None,
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the text output.")] = (
        Lang.BOTH
    ),
    as_json: JsonOption = False,
) -> None:
    """One step of the interview, without prompts: the causes ranked with their evidence, and
    the next question to ask (or the answer).

    Call it again with the answers so far (--answer QID=AID, repeated) to go on. --json prints
    the result as documented in docs/support.md."""
    from possettle.cli.support_case import build_case
    from possettle.cli.support_show import step

    _setup()
    with user_errors():
        case = build_case(
            screen=screen, code=code, acquirer=acquirer, model=model, photo=photo,
            answers=answer or (), host_db=host_db, tid=tid, directory=directory,
        )  # fmt: skip
        _check_ledger(host_db)
        result = _diagnose(case)
    if as_json:
        print_json(result.as_dict())
    else:
        out().print(step(result, lang.value), soft_wrap=True)


@app.command("questions")
def questions_command(
    lang: Annotated[Lang, typer.Option("--lang", help="Language of the text output.")] = (
        Lang.BOTH
    ),
    as_json: JsonOption = False,
) -> None:
    """Every question the desk may ask, with its answer ids (for --answer QID=AID)."""
    from rich.table import Table
    from rich.text import Text

    from possettle.cli.support_show import pick
    from possettle.support.questions import all_questions

    questions = all_questions()
    if as_json:
        print_json([q.as_dict() for q in questions])
        return
    table = Table(show_lines=True)
    table.add_column("id")
    table.add_column("question / 问题", overflow="fold")
    table.add_column("answers / 答案", overflow="fold")
    for q in questions:
        answers = "\n".join(f"{a.id}: {pick(a.en, a.zh, lang.value)}" for a in q.answers)
        table.add_row(Text(q.id), Text(pick(q.en, q.zh, lang.value)), Text(answers))
    out().print(table)


@app.command("acquirers")
def acquirers_command(as_json: JsonOption = False) -> None:
    """Every acquirer id (for --acquirer) with its names in English and Chinese."""
    from rich.table import Table
    from rich.text import Text

    from possettle.support.acquirers import all_acquirers

    acquirers = all_acquirers()
    if as_json:
        print_json([{"id": a.id, "en": a.en, "zh": a.zh} for a in acquirers])
        return
    table = Table()
    for column in ("id", "English", "中文"):
        table.add_column(column)
    for a in acquirers:
        table.add_row(Text(a.id), Text(a.en), Text(a.zh))
    out().print(table)
