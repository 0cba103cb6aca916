"""Rate limits: growing delays after failed sign-ins, a limit on unknown survey links, a flood limit on public pages.

Failures are counted where every server process sees them, in the table ``rate_counter`` (one row per key, times
as seconds since the epoch so that the same arithmetic runs on SQLite and PostgreSQL); requests in general are
counted in each process's memory:

- **Sign-ins** (:class:`SignInThrottle`): no fixed lock-out, which would let anyone lock the administrator out by
  typing wrong passwords for her. Failures count per client address, per account and per (account, address) pair.
  The first ``free`` failures of a key cost nothing; each further one doubles the wait (1 s, 2 s, 4 s ... up to
  ``max_seconds``), answered as a refusal with ``Retry-After``; the server never sleeps. The address's wait holds for
  every attempt from it (one address trying many accounts); the account's wait holds only for attempts from an
  address that has itself failed on that account recently. So the right password still works from an address
  that has not failed, and an attacker spread over K addresses gets about K free tries (one per address) before
  every one of them waits on the account's delay. A success clears its (account, address) pair, not the address
  (an attacker with an account of their own could clear their address between guesses); counters are forgotten
  ``memory_seconds`` after their last failure.
- **Survey links** (:class:`LinkFailures`): only failures count (unknown or malformed tokens), per address in a
  fixed window; over the limit an unknown token is answered 429 with ``Retry-After``. A valid link always opens,
  whatever its address has failed: the token is looked up first and a valid one reads or writes no counter. The
  defence against guessing is the token itself (71 bits for 12 base62 characters: with a million links live, a
  guesser making a million guesses a second would need about 80 years for one hit); the limit only keeps a
  guesser from filling the logs and the database. A household or a whole carrier-grade NAT behind one address is
  therefore never refused its own links because of someone else's typing.
- **Public pages** (:class:`RateLimiter`, ``RateLimits.public``): every request of the public pages is on the hot
  path of a submission, so this flood limit stays in memory, without a database write per request. To hold across
  N server processes each process allows ``public_requests_per_window // N`` (``survey serve --workers N`` sets
  ``SURVEY_SERVER_PROCESSES=N`` for its workers): a client gets at most the configured allowance in all, and less
  only when its requests are not spread over the processes (one kept-alive connection stays with one process).

Example::

    >>> limiter = RateLimiter(limit=2, window_seconds=60)
    >>> limiter.hit("1.2.3.4", now=0.0), limiter.hit("1.2.3.4", now=1.0), limiter.hit("1.2.3.4", now=2.0)
    (True, True, False)
    >>> limiter.hit("1.2.3.4", now=61.5)
    True
    >>> [Backoff(free=2, max_seconds=5).delay(n) for n in range(1, 8)]
    [0.0, 0.0, 1.0, 2.0, 4.0, 5.0, 5.0]
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from survey.db import marks, run_sql

if TYPE_CHECKING:
    from survey.settings import Settings

__all__ = ["Backoff", "FailureCount", "FailureCounters", "LinkFailures", "RateLimiter", "RateLimits",
           "SignInThrottle"]

KEY_LENGTH = 200  # rate_counter.key
PRUNE_EVERY_SECONDS = 60.0  # a process deletes forgotten counters at most this often (when it counts a failure)


@dataclass
class RateLimiter:
    """At most ``limit`` events per ``window_seconds`` for each key, in this process's memory."""

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
class Backoff:
    """The wait after the ``n``-th failure: none for the first ``free``, then 1 s doubling up to ``max_seconds``."""

    free: int
    max_seconds: float
    first_seconds: float = 1.0

    def delay(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return float(min(self.max_seconds, self.first_seconds * 2.0 ** min(failures - self.free - 1, 62)))


@dataclass(frozen=True)
class FailureCount:
    """One counter of ``rate_counter``: ``failures`` since ``window_start``, the last one, and the wait it set."""

    key: str
    failures: int
    window_start: float
    last_failure_at: float
    blocked_until: float

    def wait(self, now: float) -> int:
        """Whole seconds until the wait is over (0: none)."""
        return max(0, math.ceil(self.blocked_until - now)) if self.blocked_until > now else 0


def _key(key: str) -> str:
    return key[:KEY_LENGTH]


@dataclass
class FailureCounters:
    """Failure counters in the database (``rate_counter``), shared by every process; ``clock`` is seconds since
    the epoch (a test may move it on)."""

    clock: Callable[[], float] = time.time
    keep_seconds: float = 3600.0  # a counter whose last failure is older than this is forgotten (and pruned)
    _pruned_at: float = 0.0

    async def read(self, keys: Sequence[str]) -> dict[str, FailureCount]:
        """The counters of ``keys`` that exist (one query)."""
        names = [_key(key) for key in keys]
        rows = await run_sql("SELECT key, failures, window_start, last_failure_at, blocked_until FROM rate_counter "  # noqa: S608
                             f"WHERE key IN ({marks(len(names))})", *names)  # placeholders only
        return {row["key"]: FailureCount(row["key"], int(row["failures"]), float(row["window_start"]),
                                         float(row["last_failure_at"]), float(row["blocked_until"])) for row in rows}

    async def fail(self, key: str, *, restart_before: float, by: str = "last_failure_at") -> FailureCount:
        """Count one failure of ``key`` now; a counter whose ``by`` time (``last_failure_at``: forgetting after a
        quiet spell, ``window_start``: a fixed window) is before ``restart_before`` starts again at 1."""
        if by not in {"last_failure_at", "window_start"}:
            raise ValueError(f"by: {by!r} is not last_failure_at or window_start")
        now = self.clock()
        await self._prune(now)
        fresh = f"rate_counter.{by} > {{}}"  # a column name checked above, and a placeholder
        rows = await run_sql(
            "INSERT INTO rate_counter (key, failures, window_start, last_failure_at, blocked_until) "  # noqa: S608
            "VALUES ({}, 1, {}, {}, 0) ON CONFLICT (key) DO UPDATE SET "
            f"failures = CASE WHEN {fresh} THEN rate_counter.failures + 1 ELSE 1 END, "
            f"window_start = CASE WHEN {fresh} THEN rate_counter.window_start ELSE excluded.window_start END, "
            f"blocked_until = CASE WHEN {fresh} THEN rate_counter.blocked_until ELSE 0 END, "
            "last_failure_at = excluded.last_failure_at "
            "RETURNING key, failures, window_start, last_failure_at, blocked_until",
            _key(key), now, now, restart_before, restart_before, restart_before,
        )
        row = rows[0]
        return FailureCount(row["key"], int(row["failures"]), float(row["window_start"]),
                            float(row["last_failure_at"]), float(row["blocked_until"]))

    async def block(self, key: str, until: float) -> None:
        """Make ``key`` wait until ``until`` (never shortening a longer wait another process set)."""
        await run_sql("UPDATE rate_counter SET blocked_until = CASE WHEN blocked_until < {} THEN {} "
                      "ELSE blocked_until END WHERE key = {}", until, until, _key(key))

    async def clear(self, keys: Sequence[str]) -> None:
        names = [_key(key) for key in keys]
        await run_sql(f"DELETE FROM rate_counter WHERE key IN ({marks(len(names))})", *names)  # noqa: S608

    async def _prune(self, now: float) -> None:
        if now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        await run_sql("DELETE FROM rate_counter WHERE last_failure_at < {} AND blocked_until < {}",
                      now - self.keep_seconds, now)


@dataclass
class SignInThrottle:
    """Growing delays after failed sign-ins, per address and per account (see the module's docstring).

    ``wait(account, address)`` before checking a password; then ``failed`` or ``succeeded``.
    """

    counters: FailureCounters
    backoff: Backoff
    memory_seconds: float

    @staticmethod
    def _keys(account: str, address: str) -> tuple[str, str, str]:
        return f"signin:address:{address}", f"signin:account:{account}", f"signin:pair:{account}|{address}"

    async def wait(self, account: str, address: str) -> int:
        """Seconds before ``account`` may be tried from ``address`` (0: now)."""
        by_address, by_account, pair = self._keys(account, address)
        now = self.counters.clock()
        counts = await self.counters.read([by_address, by_account, pair])
        recent = {key: count for key, count in counts.items() if count.last_failure_at > now - self.memory_seconds}
        waits = [recent[by_address].wait(now)] if by_address in recent else []
        if pair in recent and by_account in recent:  # this address has failed on this account itself
            waits.append(recent[by_account].wait(now))
        return max(waits, default=0)

    async def failed(self, account: str, address: str) -> None:
        """Count a wrong password (or an unknown account) from ``address``; the next try waits when it is due."""
        now = self.counters.clock()
        restart_before = now - self.memory_seconds
        for key in self._keys(account, address):
            count = await self.counters.fail(key, restart_before=restart_before)
            delay = self.backoff.delay(count.failures)
            if delay > 0 and not key.startswith("signin:pair:"):  # the pair only says "this address failed here"
                await self.counters.block(key, now + delay)

    async def succeeded(self, account: str, address: str) -> None:
        """The right password: the (account, address) pair starts afresh (the address's own count stays)."""
        await self.counters.clear([self._keys(account, address)[2]])


@dataclass
class LinkFailures:
    """Unknown or malformed survey links per address: ``limit`` per fixed window of ``window_seconds``."""

    counters: FailureCounters
    limit: int
    window_seconds: float

    async def failed(self, address: str) -> int:
        """Count one failed link from ``address``; the seconds it must wait when it is over the limit, else 0."""
        now = self.counters.clock()
        count = await self.counters.fail(f"link:address:{address}", restart_before=now - self.window_seconds,
                                         by="window_start")
        if count.failures <= self.limit:
            return 0
        return max(1, math.ceil(count.window_start + self.window_seconds - now))


@dataclass
class RateLimits:
    """The application's limits, one per purpose (held by :class:`survey.state.AppState`)."""

    public: RateLimiter  # public page requests per client, in this process (its share of the allowance)
    links: LinkFailures  # failed link look-ups per client, in the database
    signin: SignInThrottle  # failed sign-ins per client, account and pair, in the database
    counters: FailureCounters  # the database counters both use (and their clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        window = settings.rate_window_seconds
        memory = settings.login_failure_memory_seconds
        counters = FailureCounters(keep_seconds=max(memory, window))
        share = max(1, settings.public_requests_per_window // settings.server_processes)
        return cls(
            public=RateLimiter(share, window),
            links=LinkFailures(counters, settings.token_failures_per_window, window),
            signin=SignInThrottle(counters, Backoff(settings.login_free_failures, settings.login_max_delay_seconds),
                                  memory),
            counters=counters,
        )
