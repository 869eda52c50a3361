"""A seeded mutation fuzzer for PS-CUP/1 hosts, over the golden frames.

* :mod:`~possettle.sim.fuzz.layout` — where each field of a golden body lies;
* :mod:`~possettle.sim.fuzz.corpus` — the golden frames (the seeds) and the PANs they carry;
* :mod:`~possettle.sim.fuzz.mutators` — truncations, bit flips, length lies, bad BCD,
  undefined bitmap bits, oversized LLVARs, retagged messages, control bytes, random bytes;
* :mod:`~possettle.sim.fuzz.plan` — frame *i* of a run from ``(seed, i)`` alone;
* :mod:`~possettle.sim.fuzz.driver` — real sockets, several connections, a tally of replies
  by response code, closes and timeouts;
* :mod:`~possettle.sim.fuzz.target` — a host process on a fresh ledger, its memory and rows;
* :mod:`~possettle.sim.fuzz.leaks` — clear card numbers in a log or a ledger file.

``tests/fuzz/test_mutation_storm.py`` runs it in CI and ``bench/fuzz.py`` at a million frames.
"""

from possettle.sim.fuzz.corpus import Corpus
from possettle.sim.fuzz.driver import FuzzDriver, Tally
from possettle.sim.fuzz.leaks import Leak, scan, scan_files
from possettle.sim.fuzz.plan import Mutant, Plan

__all__ = ["Corpus", "FuzzDriver", "Leak", "Mutant", "Plan", "Tally", "scan", "scan_files"]
