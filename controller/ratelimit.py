"""A token bucket: at most ``burst`` at once, refilled at ``rate`` per second."""

from __future__ import annotations

from .clock import Clock


class TokenBucket:
    def __init__(self, clock: Clock, rate: float, burst: int):
        if rate < 0 or burst < 0:
            raise ValueError(f"rate and burst must be non-negative (rate={rate}, burst={burst})")
        self._clock = clock
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = clock.now()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock.now()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
