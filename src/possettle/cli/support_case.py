"""``possettle support``'s options → a :class:`~possettle.support.case.Case`, checked first.

Each bad option ends the command before anything is looked up or printed, naming the option,
what was wrong and what it accepts, in English and Chinese, with exit status 2 (a usage
error, as click's own: ``possettle host policy --settlement-mac sometimes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from possettle.cli.common import fail
from possettle.errors import ConfigError
from possettle.support.case import Case
from possettle.support.result import Question

USAGE = 2
#: an image file starts with one of these (PNG, JPEG, GIF, BMP, TIFF ×2, WebP's RIFF)
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*", b"RIFF")
#: a photo bigger than this is refused before it is read (a phone photo is a few MB)
MAX_PHOTO_BYTES = 20 * 1024 * 1024


def bad(option: str, en: str, zh: str) -> NoReturn:
    """End the command: ``option`` was given something it cannot take (exit status 2)."""
    fail(ConfigError.in_both(f"{option}: {en}", f"{option}：{zh}"), status=USAGE)


def read_photo(path: Path) -> bytes:
    if not path.exists():
        bad("--photo", f"no file {path}", f"文件 {path} 不存在")
    if not path.is_file():
        bad("--photo", f"{path} is not a file", f"{path} 不是文件")
    if path.stat().st_size > MAX_PHOTO_BYTES:
        bad(
            "--photo",
            f"{path} is larger than {MAX_PHOTO_BYTES // 2**20} MB",
            f"{path} 超过 {MAX_PHOTO_BYTES // 2**20} MB",
        )
    data = path.read_bytes()
    if not data.startswith(IMAGE_MAGIC):
        bad(
            "--photo",
            f"{path} is not an image (PNG, JPEG, GIF, BMP, TIFF or WebP)",
            f"{path} 不是图片（支持 PNG、JPEG、GIF、BMP、TIFF、WebP）",
        )
    return data


def parse_answers(given: Sequence[str], questions: Sequence[Question]) -> dict[str, str]:
    """``QID=AID`` pairs, each checked against the questions (ids listed when one is wrong)."""
    by_id = {q.id: q for q in questions}
    answers: dict[str, str] = {}
    for pair in given:
        qid, sep, aid = (part.strip() for part in pair.partition("="))
        if not sep or not qid or not aid:
            bad(
                "--answer",
                f"{pair!r} is not QID=AID (e.g. --answer slip_printed=no)",
                f"{pair!r} 不是 问题=答案 的形式（例如 --answer slip_printed=no）",
            )
        question = by_id.get(qid)
        if question is None:
            ids = ", ".join(sorted(by_id))
            bad(
                "--answer",
                f"{pair!r}: no question {qid!r}; the questions are: {ids}",
                f"{pair!r}：没有问题 {qid!r}；可用的问题：{ids}",
            )
        valid = [a.id for a in question.answers]
        if aid not in valid:
            ids = ", ".join(valid)
            bad(
                "--answer",
                f"{pair!r}: {qid} has no answer {aid!r}; its answers are: {ids}",
                f"{pair!r}：问题 {qid} 没有答案 {aid!r}；可用的答案：{ids}",
            )
        if qid in answers and answers[qid] != aid:
            bad(
                "--answer",
                f"{qid} answered twice ({answers[qid]} and {aid})",
                f"问题 {qid} 回答了两次（{answers[qid]} 和 {aid}）",
            )
        answers[qid] = aid
    return answers


def check_acquirer(acquirer: str | None, known: Sequence[str]) -> str | None:
    if acquirer is None:
        return None
    wanted = acquirer.strip().lower()
    if wanted not in known:
        ids = ", ".join(known)
        bad(
            "--acquirer",
            f"no acquirer {acquirer!r}; the acquirers are: {ids}",
            f"没有收单机构 {acquirer!r}；可用的收单机构：{ids}",
        )
    return wanted


def build_case(
    *,
    screen: str | None,
    code: str | None,
    acquirer: str | None,
    model: str | None,
    photo: Path | None,
    answers: Sequence[str],
    host_db: str | None,
    tid: str | None,
    directory: Path | None,
) -> Case:
    """The case the options describe; every option checked, the photo read."""
    from possettle.support.acquirers import all_acquirers
    from possettle.support.questions import all_questions

    if tid is not None and host_db is None:
        bad(
            "--tid",
            "needs --host-db (the TID is looked up in the host's ledger)",
            "需要同时给出 --host-db（终端号要在主机账本里查）",
        )
    if host_db is not None and tid is None and directory is None:
        bad(
            "--host-db",
            "needs --tid (which terminal) or --dir (the terminal's directory)",
            "需要同时给出 --tid（哪台终端）或 --dir（终端目录）",
        )
    if directory is not None and not directory.is_dir():
        bad("--dir", f"no directory {directory}", f"目录 {directory} 不存在")
    code = code.strip().upper() if code else None
    if code is not None and not (code.isascii() and code.isalnum() and len(code) <= 4):
        bad(
            "--code",
            f"{code!r} is not a response code (two letters or digits, e.g. A0, 94)",
            f"{code!r} 不是应答码（两位字母或数字，例如 A0、94）",
        )
    known = [a.id for a in all_acquirers()]
    return Case(
        screen=screen.strip() if screen and screen.strip() else None,
        code=code or None,
        acquirer=check_acquirer(acquirer, known),
        model=model.strip() if model and model.strip() else None,
        photo=read_photo(photo) if photo is not None else None,
        answers=parse_answers(answers, all_questions()),
        host_db=host_db,
        tid=tid,
        terminal_dir=directory,
    )
