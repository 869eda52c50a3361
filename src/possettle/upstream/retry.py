"""How long to wait before retrying a reversal: capped exponential backoff with jitter.

Randomness is passed in, so a test with ``jitter=0`` (or a fixed ``rand``) is exact.

>>> [RetryPolicy(initial=0.5, factor=2, maximum=3, jitter=0).delay(n) for n in range(4)]
[0.5, 1.0, 2.0, 3]
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial: float = 0.5  # seconds before the second attempt
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.1  # ± this fraction of the delay

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        base = min(self.maximum, self.initial * self.factor ** min(attempt, 64))
        if not self.jitter:
            return base
        return base * (1 + self.jitter * (2 * rand() - 1))
