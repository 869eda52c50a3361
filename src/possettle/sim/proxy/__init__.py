"""The adversity proxy: a PS-CUP/1-aware TCP proxy that terminals are pointed at instead of
the host, to drop, delay, duplicate, reorder, reset, stall, cut and refuse on request.

It is frame-aware — faults act on whole frames found by their 2-byte length — so "drop the
sale" or "reset half-way through the reply" mean exactly that. Modules, by concern:

* :mod:`.faults`: :class:`Faults`, the validated set of faults in force, and :class:`Direction`;
* :mod:`.plan`: sans-IO decisions — frame splitting, each frame's fate, the cut budget;
* :mod:`.relay`: one connection's two pumps carrying the decisions out, and the counters;
* :mod:`.listener`: the listening port, which can refuse connects and take them again;
* :mod:`.server`: :class:`AdversityProxy`, the asyncio shell (``possettle fault proxy``).

>>> # proxy = AdversityProxy("127.0.0.1", 0, "127.0.0.1", 5000, Faults(), random.Random(1))
>>> # await proxy.start(); proxy.faults = Faults(drop=1.0, direction=Direction.UP)
"""

from possettle.sim.proxy.faults import Direction, Faults
from possettle.sim.proxy.plan import Action, FrameSplitter, Piece, Plan, decide
from possettle.sim.proxy.server import AdversityProxy

__all__ = [
    "Action",
    "AdversityProxy",
    "Direction",
    "Faults",
    "FrameSplitter",
    "Piece",
    "Plan",
    "decide",
]
