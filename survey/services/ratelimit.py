"""Per-client rate limits with separate counters per purpose (link look-ups, logins, counter pages).

A sliding window of event times per key, one limiter per purpose, held by the application. In
memory, per server process: with N processes a client gets at most N times the limit, which
still makes guessing a 71-bit link hopeless.

Example::

    >>> limiter = RateLimiter(limit=2, window_seconds=60)
    >>> limiter.hit("1.2.3.4", now=0.0), limiter.hit("1.2.3.4", now=1.0), limiter.hit("1.2.3.4", now=2.0)
    (True, True, False)
    >>> limiter.hit("1.2.3.4", now=61.5)
    True
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from survey.settings import Settings

__all__ = ["RateLimiter", "RateLimits"]


@dataclass
class RateLimiter:
    """At most ``limit`` events per ``window_seconds`` for each key."""

    limit: int
    window_seconds: float
    _events: dict[str, deque[float]] = field(default_factory=dict)

    def _window(self, key: str, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        horizon = now - self.window_seconds
        while events and events[0] <= horizon:
            events.popleft()
        if len(self._events) > 100_000:  # keep memory bounded under a flood of distinct addresses
            self._events = {k: v for k, v in self._events.items() if v and v[-1] > horizon}
        return events

    def blocked(self, key: str, now: float | None = None) -> bool:
        """Whether ``key`` has used up its allowance (without counting a new event)."""
        now = time.monotonic() if now is None else now
        return len(self._window(key, now)) >= self.limit

    def hit(self, key: str, now: float | None = None) -> bool:
        """Count one event for ``key``; ``False`` when it is over the limit (the event is not counted)."""
        now = time.monotonic() if now is None else now
        events = self._window(key, now)
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True

    def retry_after(self, key: str, now: float | None = None) -> int:
        """Seconds until ``key`` may try again (0 when it may now)."""
        now = time.monotonic() if now is None else now
        events = self._window(key, now)
        if len(events) < self.limit:
            return 0
        return max(1, int(events[0] + self.window_seconds - now) + 1)


@dataclass(frozen=True)
class RateLimits:
    """The application's limiters, one per purpose (held by :class:`survey.state.AppState`)."""

    token_failures: RateLimiter  # failed link look-ups per client
    public: RateLimiter  # public page requests per client
    login_failures: RateLimiter  # failed sign-ins per client and per username

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        window = settings.rate_window_seconds
        return cls(
            token_failures=RateLimiter(settings.token_failures_per_window, window),
            public=RateLimiter(settings.public_requests_per_window, window),
            login_failures=RateLimiter(settings.login_failures_per_window, window),
        )
