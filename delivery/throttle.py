"""A token bucket that keeps sending under a provider's messages-per-second limit.

Example::

    >>> import asyncio
    >>> bucket = TokenBucket(rate_per_second=100, burst=1)
    >>> asyncio.run(bucket.acquire())
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]

_EPSILON = 1e-9


class TokenBucket:
    """Allow ``rate_per_second`` acquisitions a second on average, at most ``burst`` at once.

    ``burst`` defaults to one second's worth (at least 1). ``clock`` (monotonic seconds) and
    ``sleep`` are injectable so tests can run on a fake clock. Waiters are served in order.
    """

    def __init__(
        self,
        rate_per_second: float,
        burst: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not rate_per_second > 0:
            raise ValueError(f"rate_per_second must be positive, got {rate_per_second}")
        if burst is None:
            burst = max(1, int(rate_per_second))
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.rate_per_second = float(rate_per_second)
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate_per_second)
        self._updated = now

    async def acquire(self) -> None:
        """Wait until a token is available and take it."""
        async with self._lock:  # one waiter at a time keeps the order fair
            self._refill()
            while self._tokens < 1.0 - _EPSILON:  # rounding must not turn one wait into an endless spin
                await self._sleep((1.0 - self._tokens) / self.rate_per_second)
                self._refill()
            self._tokens = max(0.0, self._tokens - 1.0)
