"""Coverage-guided fuzzing of the PS-CUP/1 decoder with atheris (libFuzzer for Python).

    .venv/bin/python tests/fuzz/atheris_decoder.py [libFuzzer flags] [CORPUS_DIR ...]

The target is :func:`possettle.sim.fuzz.decoder.one_input` (framing reader, codec decode,
classify, masked pretty-print); possettle's codec and pyiso8583 are instrumented. Any
exception other than the codec's own errors is a crash: atheris prints it and exits non-zero,
writing the input to ``crash-<sha1>`` (``-artifact_prefix=DIR/`` puts it elsewhere).

A corpus directory that is empty or missing is seeded with the golden frames and bodies.
CI runs a short fixed run (``tests/fuzz/test_decoder_fuzz.py``: ``-runs=20000 -seed=1``);
a developer's longer run, keeping what it learns:

    .venv/bin/python tests/fuzz/atheris_decoder.py -max_total_time=1800 -max_len=4098 \\
        -artifact_prefix=artifacts/fuzz/ artifacts/fuzz/corpus
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["possettle.iso8583", "iso8583"]):
    from possettle.iso8583 import classify, codec, fields, framing, mask  # noqa: F401

from possettle.sim.fuzz.corpus import Corpus
from possettle.sim.fuzz.decoder import one_input, seed_inputs

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "vectors.json"
#: ``module:function`` to fuzz instead (the CI test proves a crash is caught this way)
TARGET_ENV = "POSSETTLE_FUZZ_TARGET"


def target() -> Callable[[bytes], None]:
    spec = os.environ.get(TARGET_ENV)
    if not spec:
        return one_input
    module, _, name = spec.partition(":")
    fn: Callable[[bytes], None] = getattr(importlib.import_module(module), name)
    return fn


def seed(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        return
    for data in seed_inputs(Corpus.load(VECTORS)):
        (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main() -> None:
    for arg in sys.argv[1:]:
        if not arg.startswith("-"):
            seed(Path(arg))
    atheris.Setup(sys.argv, target())
    atheris.Fuzz()


if __name__ == "__main__":
    main()
