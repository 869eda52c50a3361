"""A per-process cache of :class:`TerminalState` for the sale path, safe with many processes.

A sale needs the terminal's state (status, merchant, batch, working keys) before it can check
the MAC, decrypt the PIN and ask the issuer; reading and unsealing it for every sale is most
of a sale's database time. Several host processes may share one PostgreSQL ledger
(design.md, "Scale"), and the CLI changes terminals behind the host's back, so a cached state
can be stale. It is made harmless rather than merely rare:

* **Only sales read from the cache.** Every other message loads the state from the ledger
  and then drops the terminal's entry, so sign-on, sign-off, settlement, batch upload,
  reversal, refund and the rest decide on the ledger's state and the next sale reloads it.
* **A sale's write re-checks what it was decided on.** The statement that records the visit
  (:func:`~possettle.ledger.terminal_state.touch_if_current`) matches only if the
  terminal and merchant are active, the working keys are the same generation, the current
  batch is the same and open; otherwise the write books nothing, the issuer's approval is
  reversed, the entry dropped and the sale decided again on fresh state.
* **A MAC that fails against cached keys is re-checked against the ledger's** before the
  host answers ``A0`` (another process may have signed the terminal on with new keys).
* **Entries expire** ``ttl`` seconds (monotonic clock) after the ledger last confirmed them
  (a load, or a sale's write whose check passed), which bounds how long a terminal that
  only sends refused requests can be answered on an outdated view (they book no money).

``ttl=0`` turns the cache off: every sale reads the ledger, as every other message does.
"""

from __future__ import annotations

from possettle.clock import Clock
from possettle.ledger.terminal_state import TerminalState

#: at most this many terminals are cached; beyond it the oldest entries are dropped
MAX_ENTRIES = 100_000


class TerminalStateCache:
    def __init__(self, clock: Clock, ttl: float, max_entries: int = MAX_ENTRIES) -> None:
        self._clock = clock
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[str, tuple[float, TerminalState]] = {}

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def get(self, tid: str) -> TerminalState | None:
        """The cached state of ``tid`` if it is younger than the TTL."""
        hit = self._entries.get(tid)
        if hit is None:
            return None
        if self._clock.monotonic() - hit[0] >= self._ttl:
            del self._entries[tid]
            return None
        return hit[1]

    def put(self, state: TerminalState) -> None:
        if not self.enabled:
            return
        if len(self._entries) >= self._max and state.tid not in self._entries:
            # dicts keep insertion order: the first entries are the oldest
            for tid in list(self._entries)[: self._max // 10 or 1]:
                del self._entries[tid]
        self._entries[state.tid] = (self._clock.monotonic(), state)

    def refresh(self, state: TerminalState) -> None:
        """Restart the TTL of ``state`` if it is the entry cached: a write has just proved it
        current (:func:`~possettle.ledger.terminal_state.touch_if_current`)."""
        hit = self._entries.get(state.tid)
        if hit is not None and hit[1] is state:
            self._entries[state.tid] = (self._clock.monotonic(), state)

    def drop(self, tid: str) -> None:
        self._entries.pop(tid, None)

    def __len__(self) -> int:
        return len(self._entries)
