"""The decoder under fuzzing: coverage-guided (atheris) for a fixed run, and Hypothesis.

Bytes go through the framing reader, the codec, classify and the masked pretty-printer
(:func:`possettle.sim.fuzz.decoder.one_input`); only the codec's own errors may come out.
The atheris run is a subprocess (libFuzzer owns the process and exits on a crash) with a
fixed seed and number of inputs, its corpus seeded with the golden frames.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from possettle.sim.fuzz.corpus import Corpus
from possettle.sim.fuzz.decoder import one_input, seed_inputs
from possettle.sim.fuzz.leaks import masked_text
from tests.tools import missing_tool
from tests.vectors.load import VECTORS_PATH

HARNESS = Path(__file__).with_name("atheris_decoder.py")
ROOT = Path(__file__).resolve().parents[2]
RUNS = 20_000
SEEDS = seed_inputs(Corpus.load(VECTORS_PATH))


def atheris_run(tmp_path: Path, *flags: str, target: str | None = None) -> tuple[int, str]:
    try:
        import atheris  # noqa: F401
    except ImportError:
        missing_tool("atheris is not installed (pip install -e '.[test]' on Linux x86-64)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if target:
        env["POSSETTLE_FUZZ_TARGET"] = target
    done = subprocess.run(
        [sys.executable, str(HARNESS), "-seed=1", "-max_len=4098",
         f"-artifact_prefix={tmp_path}/", *flags, str(tmp_path / "corpus")],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT, check=False,
    )  # fmt: skip
    return done.returncode, masked_text(done.stderr + done.stdout)


def test_the_decoder_survives_a_fixed_coverage_guided_run(tmp_path: Path) -> None:
    code, output = atheris_run(tmp_path, f"-runs={RUNS}")
    assert code == 0, output[-4000:]
    assert f"Done {RUNS} runs" in output
    assert not list(tmp_path.glob("crash-*"))


def test_the_harness_reports_a_crash_and_keeps_the_input(tmp_path: Path) -> None:
    code, output = atheris_run(tmp_path, "-runs=1000", target="tests.fuzz.broken_target:one_input")
    assert code != 0
    assert "planted bug" in output
    assert list(tmp_path.glob("crash-*"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_get_only_codec_errors(data: bytes) -> None:
    one_input(data)


@st.composite
def golden_with_edits(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("set", "insert", "delete", "cut")))
        if op == "set" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        else:
            del data[pos:]
    return bytes(data)


@settings(max_examples=500, deadline=None)
@given(golden_with_edits())
def test_edited_golden_frames_get_only_codec_errors(data: bytes) -> None:
    one_input(data)
