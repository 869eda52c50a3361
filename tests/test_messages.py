"""What a merchant or an operator reads after an error: English, then Chinese that says the
same thing in Chinese (not ``错误：操作失败：`` followed by the English).

The catalog (``possettle/messages/locale``) is checked like the doctor's: the same keys in both
languages, every key the code names exists, every key in the files is named by the code. Then
every user error of ``possettle host`` and ``possettle terminal`` is provoked and its Chinese
line read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from possettle.cli.main import app
from possettle.messages.catalog import LANGS, placeholders, sentences

SRC = Path(__file__).resolve().parents[1] / "src" / "possettle"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Commands, options and quoted values are not sentences: what is left must not hold English.
NOT_WORDS = re.compile(r"`[^`]*`|'[^']*'|--[a-z-]+|\$[A-Z_]+|\S*[/\\.]\S*|[A-Z]{2,}\w*")
ENGLISH = re.compile(r"[A-Za-z]+(?:[ ,:;]+[A-Za-z]+){2,}")
SAY = re.compile(r"""\bsay\(\s*["']([a-z_.]+)["']""")
KEY_USE = re.compile(r"""\.(?:said|worded)\(\s*["']([a-z_.]+)["']""")
TID, MID = "12345678", "123456789012345"
TMK = "CA5D92598DCA48CE8A4C76361A9269E9"


def test_both_languages_have_the_same_sentences_and_placeholders() -> None:
    en, zh = sentences("en"), sentences("zh")
    assert set(en) == set(zh)
    for key in en:
        assert placeholders(zh[key]) <= placeholders(en[key]) | placeholders(zh[key])
        assert placeholders(en[key]) <= placeholders(en[key]) | placeholders(zh[key])
        assert CJK.search(zh[key]), f"zh {key} has no Chinese: {zh[key]!r}"


def test_every_key_the_code_names_exists_and_every_key_is_named() -> None:
    named: set[str] = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        named |= set(KEY_USE.findall(text))
        if "from possettle.messages.catalog import" in text and "doctor" not in path.parts:
            named |= set(SAY.findall(text))
    keys = set(sentences(LANGS[0]))
    assert named - keys == set()
    said_by_code = {k for k in keys if not k.startswith("class.")} - {"host.answered"}
    assert said_by_code - named == set()


def chinese_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(("错误：", "拒绝："))]
    assert len(lines) == 1, output
    return lines[0].split("：", 1)[1]


def assert_said_in_chinese(output: str) -> None:
    zh = chinese_line(output)
    assert CJK.search(zh), output
    assert not zh.startswith("操作失败"), output
    left = NOT_WORDS.sub(" ", zh)
    assert not ENGLISH.search(left), f"English in the Chinese line: {zh!r}"
    assert "error: " in output


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("POSSETTLE_DB", "POSSETTLE_HOST_KEY", "POSSETTLE_HOST_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    db = str(tmp_path / "host.db")
    assert CliRunner().invoke(app, ["host", "init", "--db", db]).exit_code == 0
    add = ["host", "merchant", "add", "--mid", MID, "--name", "Shop", "--db", db]
    assert CliRunner().invoke(app, add).exit_code == 0
    add = ["host", "terminal", "add", "--tid", TID, "--mid", MID, "--db", db]
    assert CliRunner().invoke(app, add).exit_code == 0
    return db


HOST_ERRORS = [
    ["terminal", "add", "--tid", TID, "--mid", MID],
    ["terminal", "add", "--tid", "87654321", "--mid", "999999999999999"],
    ["terminal", "add", "--tid", "1234", "--mid", MID],
    ["terminal", "add", "--tid", "8765432\u00e9", "--mid", MID],
    ["terminal", "add", "--tid", "87654321", "--mid", MID, "--tmk", "XYZ"],
    ["terminal", "add", "--tid", "87654321", "--mid", MID, "--tmk", "Z" * 32],
    ["terminal", "disable", "--tid", "87654321"],
    ["merchant", "add", "--mid", MID, "--name", "Again"],
    ["merchant", "add", "--mid", "123", "--name", "Short"],
    ["merchant", "add", "--mid", "923456789012345", "--name", " "],
    ["merchant", "add", "--mid", "923456789012345", "--name", "x" * 500],
    ["policy", "--min-version", "1.2"],
]


@pytest.mark.parametrize("args", HOST_ERRORS, ids=lambda a: " ".join(a)[:40])
def test_a_host_command_error_is_said_in_chinese(ledger: str, args: list[str]) -> None:
    assert_said_in_chinese(run("host", *args, "--db", ledger))


@pytest.mark.parametrize(
    "db", ["missing.db", "sqlite://", "sqlite:///:memory:", "sqlite:relative", "mysql://x/y"]
)
def test_a_ledger_that_is_not_there_is_said_in_chinese(tmp_path: Path, db: str) -> None:
    target = str(tmp_path / db) if db == "missing.db" else db
    assert_said_in_chinese(run("host", "terminal", "list", "--db", target))


def test_a_missing_vault_key_is_said_in_chinese(ledger: str) -> None:
    Path(ledger + ".key").unlink()
    out = run("host", "terminal", "add", "--tid", "87654321", "--mid", MID, "--db", ledger)
    assert_said_in_chinese(out)


def test_an_uninitialised_ledger_is_said_in_chinese(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    db.touch()
    assert_said_in_chinese(run("host", "terminal", "list", "--db", str(db)))


def init(directory: Path, *more: str) -> str:
    return run(
        "terminal", "init", "--dir", str(directory), "--tid", TID, "--mid", MID, "--tmk", TMK,
        *more,
    )  # fmt: skip


def test_terminal_command_errors_are_said_in_chinese(tmp_path: Path) -> None:
    term = tmp_path / "t"
    outputs = [
        run("terminal", "status", "--dir", str(tmp_path / "nowhere")),
        init(term, "--version", "1.2"),
        run("terminal", "init", "--dir", str(term), "--tid", TID, "--mid", MID, "--tmk", "12"),
        run("terminal", "init", "--dir", str(term), "--tid", "T1", "--mid", MID, "--tmk", TMK),
        init(term, "--printer", "usb"),
        init(term, "--max-journal-bytes", "0"),
    ]
    assert not term.exists()  # refused before anything was written
    made = ["terminal", "init", "--dir", str(term), "--tid", TID, "--mid", MID, "--tmk", TMK]
    assert CliRunner().invoke(app, [*made, "--port", "9"]).exit_code == 0
    outputs.append(init(term))  # already a terminal there
    outputs.append(run("terminal", "signon", "--dir", str(term)))  # nothing listens on port 9
    sale = ["--amount", "1.00", "--pan", "6222021234567890128", "--expiry", "3012"]
    outputs.append(run("terminal", "sale", "--dir", str(term), *sale, "--pin", "12a4"))
    outputs.append(
        run("terminal", "sale", "--dir", str(term), "--amount", "99999999999999", *sale[2:])
    )
    (term / "reader.json").write_text("{}")
    outputs.append(run("terminal", "sale", "--dir", str(term), *sale))
    (term / "reader.json").unlink()
    settle = run("terminal", "settle", "--dir", str(term))
    assert "原因：无法连接收单主机或主机未应答" in settle, settle
    config = term / "terminal.json"
    good = json.loads(config.read_text())
    config.write_text(json.dumps({**good, "port": 0, "colour": "red"}))
    outputs.append(run("terminal", "status", "--dir", str(term)))
    config.write_text("[1, 2]")
    outputs.append(run("terminal", "status", "--dir", str(term)))
    config.write_text("{not json")
    outputs.append(run("terminal", "status", "--dir", str(term)))
    for out in outputs:
        assert_said_in_chinese(out.replace("refused:", "error: refused:"))


def test_console_and_doctor_command_errors_are_said_in_chinese(ledger: str) -> None:
    user = ["console", "user", "add", "--role", "viewer", "--db", ledger]
    assert_said_in_chinese(run(*user, "--username", "ana", "--password", "short"))
    assert_said_in_chinese(run(*user, "--username", "x" * 41, "--password", "pass-word-2"))
    added = CliRunner().invoke(app, [*user, "--username", "ana", "--password", "pass-word-2"])
    assert added.exit_code == 0, added.output
    assert_said_in_chinese(run(*user, "--username", "ana", "--password", "pass-word-2"))
    assert_said_in_chinese(run("doctor"))
