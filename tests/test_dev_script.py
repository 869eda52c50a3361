"""``scripts/dev.py`` installs quietly: one line of progress, pip's output in a log.

pip prints a warning for every index location it cannot use (about 70 on a machine whose pip
configuration names a missing local index); a newcomer's first ``dev.py demo`` must not
scroll them past. The log keeps them, and a failed install shows its last lines.
"""

from __future__ import annotations

import importlib.util
import stat
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "possettle_dev_script", ROOT / "scripts" / "dev.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_pip(tmp_path: Path, code: int) -> Path:
    """A stand-in for the venv's Python: `-m pip install …` prints 70 warnings, exits `code`."""
    script = tmp_path / "python"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "for i in range(70):\n"
        "    print(f\"WARNING: Location 'file:///opt/pypi-more/simple/pkg{i}/' is ignored\","
        " file=sys.stderr)\n"
        "print('Successfully installed possettle')\n"
        f"sys.exit({code})\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.fixture
def dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = _dev()
    venv = tmp_path / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "possettle").touch()
    monkeypatch.setattr(module, "VENV", venv)
    monkeypatch.setattr(module, "BIN", venv / "bin")
    monkeypatch.setattr(module, "STAMP", venv / ".possettle-install.json")
    monkeypatch.setattr(module, "PIP_LOG", venv / "pip-install.log")
    monkeypatch.setattr(module, "_venv_works", lambda: True)
    return module


def test_a_successful_install_shows_one_line_and_keeps_pips_output_in_the_log(
    dev: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(dev, "PYTHON", _fake_pip(tmp_path, 0))
    dev.ensure_installed()
    out, err = capfd.readouterr()
    assert out.splitlines() == [out.splitlines()[0]]
    assert out.startswith("• installing possettle into .venv … done in ")
    assert err == ""
    log = dev.PIP_LOG.read_text(encoding="utf-8")
    assert (
        log.count("is ignored") == 70 and "--quiet" in log and "--disable-pip-version-check" in log
    )
    assert dev.STAMP.exists()


def test_a_failed_install_shows_the_end_of_the_log(
    dev: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(dev, "PYTHON", _fake_pip(tmp_path, 1))
    with pytest.raises(SystemExit):
        dev.ensure_installed()
    out, err = capfd.readouterr()
    assert out == "• installing possettle into .venv … failed\n"
    assert "Successfully installed possettle" in err  # the log's last lines
    assert err.count("is ignored") < 70
    assert str(dev.PIP_LOG) in err
    assert not dev.STAMP.exists()


def test_apt_get_shows_one_line_too(
    dev: ModuleType,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    apt = _fake_pip(tmp_path, 0)
    monkeypatch.setattr(dev, "APT_LOG", tmp_path / "apt-get.log")
    monkeypatch.setattr(dev.shutil, "which", lambda name: str(apt) if name == "apt-get" else None)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0)
    assert dev._apt_install(["chromium"])
    out, err = capfd.readouterr()
    assert out.startswith("• apt-get install chromium … done in ") and out.count("\n") == 1
    assert err == ""
    assert (tmp_path / "apt-get.log").read_text(encoding="utf-8").count("is ignored") == 70


def test_tesseract_counts_as_installed_only_with_the_language_data(
    dev: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The set-up installs tesseract-ocr-chi-sim when Tesseract lacks Chinese (the support
    desk reads photos of a terminal's screen)."""
    tesseract = tmp_path / "tesseract"
    tesseract.write_text(
        f"#!{sys.executable}\n"
        "print('List of available languages in \"/usr/share/tesseract-ocr/5/tessdata/\" (2):')\n"
        "print('eng')\nprint('osd')\n",
        encoding="utf-8",
    )
    tesseract.chmod(tesseract.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(
        dev.shutil, "which", lambda name: str(tesseract) if name == "tesseract" else None
    )
    assert dev._tesseract_has("eng")
    assert not dev._tesseract_has("chi_sim")
    packages = dict(dev.TEST_PACKAGES)
    assert packages["tesseract-ocr"]() and not packages["tesseract-ocr-chi-sim"]()
    monkeypatch.setattr(dev.shutil, "which", lambda name: None)
    assert not packages["tesseract-ocr"]() and not dev._tesseract_has("eng")
