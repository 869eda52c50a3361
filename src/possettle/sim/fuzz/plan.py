"""The fuzz plan: which frame is sent as number *i* of a run, from the seed alone.

The first frames of every run are exhaustive: each golden frame cut at every offset, once
as a stream that stops short (the length prefix promises more than comes) and once as a
shorter body with an honest length. After that, frame *i* is one golden frame with one to
four mutators applied, drawn from ``random.Random(f"{seed}:{i}")`` — so any single frame of
a run can be rebuilt from ``(seed, i)`` without replaying the ones before it
(:func:`mutant`), and two runs with one seed send the same frames.

>>> from possettle.sim.fuzz.corpus import Corpus
>>> # plan = Plan(Corpus.load(path), seed=7); plan.mutant(20_000).data == plan.mutant(20_000).data
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from possettle.sim.fuzz.corpus import BODY_OFFSET, Corpus, GoldenFrame
from possettle.sim.fuzz.mutators import MUTATORS, MutatorSpec, Work

#: share of random-phase frames sent unmutated, so sign-ons and settlements keep changing the
#: terminal's state under the storm (a golden sale then meets fresh keys: MAC error)
PRISTINE_SHARE = 0.02
#: how many mutators one frame gets: 1 (most), 2, 3 or 4
STACK_WEIGHTS = (60, 25, 10, 5)


@dataclass(frozen=True, slots=True)
class Mutant:
    """Frame ``index`` of a run: the golden frame it came from, what was done, the bytes."""

    index: int
    seed_frame: str
    ops: tuple[str, ...]
    notes: tuple[str, ...]
    data: bytes

    @property
    def kind(self) -> str:
        """The mutators applied, joined: ``"bad_bcd+trailing_bytes"`` (``"pristine"``)."""
        return "+".join(self.ops) or "pristine"


def _work(frame: GoldenFrame) -> Work:
    return Work(frame.prefix, bytearray(frame.body), frame.spans)


class Plan:
    def __init__(self, corpus: Corpus, seed: int, *, exhaustive: bool = True) -> None:
        self.corpus, self.seed = corpus, seed
        # (frame number, cut): cut >= 0 is a stream cut at that byte of the whole frame,
        # cut < 0 a body truncated to ~cut bytes with an honest length prefix
        self._cuts: list[tuple[int, int]] = []
        if exhaustive:
            for n, f in enumerate(corpus.frames):
                self._cuts += [(n, cut) for cut in range(len(f.raw))]
                self._cuts += [(n, ~keep) for keep in range(len(f.body))]

    @property
    def exhaustive_count(self) -> int:
        return len(self._cuts)

    def mutant(self, index: int) -> Mutant:
        if index < len(self._cuts):
            return self._truncation(index)
        rng = random.Random(f"{self.seed}:{index}")
        golden = rng.choice(self.corpus.frames)
        if rng.random() < PRISTINE_SHARE:
            return Mutant(index, golden.name, (), (), golden.raw)
        (stack,) = rng.choices(range(1, len(STACK_WEIGHTS) + 1), weights=STACK_WEIGHTS)
        chosen: list[MutatorSpec] = rng.choices(MUTATORS, [m.weight for m in MUTATORS], k=stack)
        chosen.sort(key=lambda m: m.stage)
        work = _work(golden)
        notes = tuple(m.fn(rng, work) for m in chosen)
        return Mutant(index, golden.name, tuple(m.name for m in chosen), notes, work.to_bytes())

    def _truncation(self, index: int) -> Mutant:
        n, cut = self._cuts[index]
        golden = self.corpus.frames[n]
        work = _work(golden)
        if cut >= 0:
            work.cut = cut
            return Mutant(index, golden.name, ("cut_stream",), (f"stream cut at {cut}",),
                          work.to_bytes())  # fmt: skip
        keep = ~cut
        del work.body[keep:]
        note = f"body cut to {keep} byte(s) (frame {BODY_OFFSET + keep})"
        return Mutant(index, golden.name, ("cut_body",), (note,), work.to_bytes())

    def mutants(self, count: int, start: int = 0) -> Iterator[Mutant]:
        for index in range(start, start + count):
            yield self.mutant(index)
