"""A decoder target with a planted bug, for proving the atheris harness reports a crash."""

from __future__ import annotations

from possettle.sim.fuzz.decoder import one_input as real_one_input


def one_input(data: bytes) -> None:
    real_one_input(data)
    if data[2:4] == b"\x60\x00":  # every golden frame: LEN, then TPDU 60 00 …
        raise IndexError("planted bug")
