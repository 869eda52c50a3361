#!/usr/bin/env python3
"""possettle's command runner: the one entry point humans and CI share (stdlib only).

    python3 scripts/dev.py demo [ARGS...]    install into .venv, then run `possettle demo ARGS`
    python3 scripts/dev.py test [ARGS...]    install, then ruff check, ruff format --check,
                                             mypy and pytest ARGS; stops at the first failure
    python3 scripts/dev.py lint              install, then ruff and mypy only
    python3 scripts/dev.py bench NAME [...]  install, then run bench/NAME.py with the venv Python

``test`` also makes sure the tests' outside tools exist: on Debian or Ubuntu as root it
installs the distribution's ``chromium`` (console browser tests), a CJK font (the Chinese
pages' screenshots and the support desk's test photos), ``prometheus`` (for ``promtool``) and
``tesseract-ocr`` with ``tesseract-ocr-chi-sim`` (the support desk reads photos of a terminal's
screen) with apt-get, once; elsewhere it says what is missing (a Chromium elsewhere:
``POSSETTLE_CHROMIUM=/path``).

The virtual environment lives in ``.venv`` at the repository root. It is created when missing,
recreated when broken (or moved), and the project is reinstalled (``pip install -e '.[test]'``)
only when pyproject.toml changed since the last successful install: a stamp with its hash is
kept in ``.venv``. An install shows one line (``• installing possettle into .venv … done in
40 s``); pip's and apt-get's own output goes to ``.venv/pip-install.log`` and
``.venv/apt-get.log``, and its last lines are shown only when the install fails.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".possettle-install.json"
MIN_PYTHON = (3, 11)
PIP_LOG = VENV / "pip-install.log"
APT_LOG = VENV / "apt-get.log"
LOG_TAIL_LINES = 30
# pytest's "no tests were collected": a run that tested nothing must not pass.
PYTEST_NO_TESTS = 5

USAGE = __doc__.split("\n\n")[1] if __doc__ else ""


def say(line: str) -> None:
    print(f"• {line}", flush=True)


def fail(line: str, code: int = 1) -> int:
    print(f"✗ {line}", file=sys.stderr, flush=True)
    return code


def run(cmd: Sequence[object], *, env: dict[str, str] | None = None, quiet: bool = False) -> int:
    """Run ``cmd`` (our own venv's tools or this Python) in the repository root."""
    out = subprocess.DEVNULL if quiet else None
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env, stdout=out)  # noqa: S603


def run_logged(
    what: str, cmd: Sequence[object], log: Path, *, env: dict[str, str] | None = None
) -> int:
    """Run ``cmd`` with its output (stdout and stderr) in ``log``, showing one line of progress:
    ``• WHAT … done in 12 s``. On failure the log's last lines are shown, and where it is."""
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"• {what} … ", end="", flush=True)
    started = time.monotonic()
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(str(c) for c in cmd)}\n".encode())
        out.flush()
        code = subprocess.call(  # noqa: S603 - our own venv's tools or the system's apt-get
            [str(c) for c in cmd], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    if code == 0:
        print(f"done in {time.monotonic() - started:.0f} s", flush=True)
        return 0
    print("failed", flush=True)
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    for line in lines[-LOG_TAIL_LINES:]:
        print(f"  {line}", file=sys.stderr)
    print(f"  (the whole output: {log})", file=sys.stderr, flush=True)
    return code


def tool(name: str) -> Path:
    return BIN / (name + (".exe" if os.name == "nt" else ""))


# ----------------------------------------------------------------------------- environment


def _stamp_wanted() -> dict[str, str]:
    return {
        "pyproject_sha256": hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest(),
        # A venv's scripts hold absolute paths: a moved checkout needs a fresh one.
        "venv": str(VENV),
    }


def _stamp_found() -> dict[str, str] | None:
    try:
        data = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _venv_works() -> bool:
    if not PYTHON.exists():
        return False
    check = f"import sys, pip; sys.exit(sys.version_info[:2] < {MIN_PYTHON!r})"
    try:
        result = subprocess.run(  # noqa: S603 - the venv's own interpreter
            [str(PYTHON), "-c", check], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _create_venv() -> None:
    if VENV.exists() or VENV.is_symlink():
        say("recreating .venv (the one there is broken or was moved) …")
        if VENV.is_symlink() or VENV.is_file():
            VENV.unlink()
        else:
            shutil.rmtree(VENV)
    else:
        say("creating .venv …")
    if run([sys.executable, "-m", "venv", VENV], quiet=True) == 0:
        return
    # Some distributions ship Python without ensurepip (Debian's python3-venv): build the
    # venv without pip and let this interpreter's pip install pip into it.
    say("python -m venv could not install pip; bootstrapping it with this Python's pip …")
    shutil.rmtree(VENV, ignore_errors=True)
    if run([sys.executable, "-m", "venv", "--without-pip", VENV]) != 0:
        raise SystemExit(fail("could not create .venv with `python -m venv`"))
    pip = [sys.executable, "-m", "pip", "--python", PYTHON, "install", "--quiet", "pip"]
    if run_logged("installing pip into .venv", pip, PIP_LOG, env=_pip_env()) != 0:
        raise SystemExit(fail("could not install pip into .venv (needs pip >= 22.3 outside it)"))


def ensure_installed() -> None:
    """Make .venv exist, work, and hold the project as pyproject.toml currently describes it."""
    if not _venv_works():
        _create_venv()
    wanted = _stamp_wanted()
    if _stamp_found() == wanted and tool("possettle").exists():
        return
    STAMP.unlink(missing_ok=True)
    PIP_LOG.unlink(missing_ok=True)
    cmd = [
        PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--editable", ".[test]",
    ]  # fmt: skip
    if run_logged("installing possettle into .venv", cmd, PIP_LOG, env=_pip_env()) != 0:
        raise SystemExit(fail("`pip install -e '.[test]'` failed (pip's output above)"))
    STAMP.write_text(json.dumps(wanted, indent=2) + "\n", encoding="utf-8")


def _pip_env() -> dict[str, str]:
    # pip's own chatter (a newer pip exists, where it looked for packages) is in the log only.
    return dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")


# ----------------------------------------------------------------------------- test tools

CHROMIUM_ENV = "POSSETTLE_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given if Path(given).exists() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _has_cjk_font() -> bool:
    fc = shutil.which("fc-list")
    if fc is None:
        return True  # cannot tell; the pages work either way, only screenshots lack glyphs
    found = subprocess.run(  # noqa: S603 - fontconfig's own lister
        [fc, ":lang=zh"], capture_output=True, text=True, check=False
    )
    return bool(found.stdout.strip())


def _tesseract_has(lang: str) -> bool:
    """Tesseract is installed with the language data ``lang`` (``tesseract --list-langs``)."""
    tesseract = shutil.which("tesseract")
    if tesseract is None:
        return False
    try:
        found = subprocess.run(  # noqa: S603 - Tesseract's own lister
            [tesseract, "--list-langs"], capture_output=True, text=True, check=False, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    # "List of available languages in ...:" then one language a line (on stdout or stderr)
    return lang in (found.stdout + found.stderr).split()


# Debian's packages the tests use, and how to tell each is there: the browser for
# tests/browser, a font with Chinese glyphs for the zh pages' screenshots and the support
# desk's test photos, promtool (package prometheus; no daemon is started) for the alert rules,
# and Tesseract with its Simplified Chinese data for reading photos of a terminal's screen
# (possettle support diagnose --photo; tests/support).
TEST_PACKAGES = (
    ("chromium", lambda: find_chromium() is not None),
    ("fonts-wqy-zenhei", _has_cjk_font),
    ("prometheus", lambda: shutil.which("promtool") is not None),
    ("tesseract-ocr", lambda: shutil.which("tesseract") is not None),
    ("tesseract-ocr-chi-sim", lambda: _tesseract_has("chi_sim")),
)


def _apt_install(packages: Sequence[str]) -> bool:
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = [apt, "install", "-y", "-q", "--no-install-recommends", *packages]
    what = f"apt-get install {' '.join(packages)}"
    if run_logged(what, cmd, APT_LOG, env=env) == 0:
        return True
    say("refreshing the package lists and trying once more …")
    run_logged("apt-get update", [apt, "update", "-q"], APT_LOG, env=env)
    return run_logged(what, cmd, APT_LOG, env=env) == 0


def ensure_test_tools() -> None:
    """Chromium, a CJK font, promtool and Tesseract for the tests; installed with apt where we
    can."""
    missing = [name for name, present in TEST_PACKAGES if not present()]
    if not missing:
        return
    say(f"the tests need Debian's {', '.join(missing)}: installing them (once; log: {APT_LOG})")
    _apt_install(missing)
    still = [name for name, present in TEST_PACKAGES if not present()]
    if still:
        say(
            f"still missing: {', '.join(still)} (installing needs root and apt-get). The tests "
            "that need them skip and say why, or fail with POSSETTLE_REQUIRE_TOOLS=1; "
            f"a Chromium elsewhere can be named with {CHROMIUM_ENV}=/path."
        )


# ----------------------------------------------------------------------------- commands


def run_steps(steps: Sequence[tuple[str, Sequence[object]]]) -> int:
    for name, cmd in steps:
        say(f"{name} …")
        code = run(cmd)
        if name == "pytest" and code == PYTEST_NO_TESTS:
            return fail("step `pytest` failed: no tests were collected", PYTEST_NO_TESTS)
        if code != 0:
            return fail(f"step `{name}` failed (exit {code})", code)
    say("all steps passed")
    return 0


def lint_steps() -> list[tuple[str, Sequence[object]]]:
    return [
        ("ruff check", [tool("ruff"), "check"]),
        ("ruff format --check", [tool("ruff"), "format", "--check"]),
        ("mypy", [tool("mypy")]),
    ]


def cmd_demo(args: Sequence[str]) -> int:
    ensure_installed()
    exe = tool("possettle")
    sys.stdout.flush()
    os.execv(exe, [str(exe), "demo", *args])  # noqa: S606 - our own venv's console script


def cmd_test(args: Sequence[str]) -> int:
    ensure_installed()
    ensure_test_tools()
    chromium = find_chromium()
    if chromium:
        os.environ[CHROMIUM_ENV] = chromium  # the browser tests launch this one
    # One worker per core (pytest-xdist): the crash-point and end-to-end tests spend most of
    # their time waiting on processes and fsync. `-n 0` (or any -n/-p given) overrides it.
    parallel = [] if any(a.startswith(("-n", "-p")) for a in args) else ["-n", "auto"]
    return run_steps([*lint_steps(), ("pytest", [tool("pytest"), *parallel, *args])])


def cmd_lint(args: Sequence[str]) -> int:
    if args:
        return fail("lint takes no arguments")
    ensure_installed()
    return run_steps(lint_steps())


def cmd_bench(args: Sequence[str]) -> int:
    available = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if p.stem != "__init__")
    if not args or args[0] not in available:
        shown = ", ".join(available) or "none yet"
        return fail(f"usage: dev.py bench NAME [ARGS...] where NAME is one of: {shown}", 2)
    ensure_installed()
    say(f"bench/{args[0]}.py …")
    return run([PYTHON, ROOT / "bench" / f"{args[0]}.py", *args[1:]])


COMMANDS = {"demo": cmd_demo, "test": cmd_test, "lint": cmd_lint, "bench": cmd_bench}


def main(argv: Sequence[str]) -> int:
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):  # "•" must not crash a non-UTF-8 console
            stream.reconfigure(errors="replace")
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 0 if argv[:1] in (["-h"], ["--help"]) else 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
