"""Group commit: one writer per process and purpose, one transaction per batch of queued items.

Piccolo's async SQLite does some 760 single-row inserts a second here, and every commit is a
disk flush: a writer takes all that is queued, hands it to its ``apply`` function (which writes the
whole batch in ONE transaction), then answers each waiting caller with its own outcome. A batch
that fails is retried one item per transaction, so one bad item fails only its own caller.

The application's lifespan starts and stops the writers (:class:`survey.state.AppState`); a
writer that is not running (the CLI, a test) applies each item at once, in a batch of its own.

Example::

    writer = GroupWriter(write_batch, name="submissions")
    writer.start()
    outcome = await writer.submit(item)   # written with whatever else was queued meanwhile
    await writer.stop()                   # drains the queue first
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

__all__ = ["GroupWriter"]

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class GroupWriter(Generic[Item, Result]):
    """Queued items written together: ``apply(items)`` writes a batch in one transaction, one result per item.

    ``max_batch`` bounds a batch by the sum of ``size(item)``. With ``key``, two items of one key
    never share a batch: the second waits for the next one, so it sees what the first wrote.
    """

    def __init__(
        self,
        apply: Callable[[list[Item]], Awaitable[Sequence[Result]]],
        *,
        name: str,
        max_batch: int = 200,
        size: Callable[[Item], int] = lambda item: 1,
        key: Callable[[Item], Hashable] | None = None,
    ) -> None:
        self.apply = apply
        self.name = name
        self.max_batch = max_batch
        self.size = size
        self.key = key
        self.batches = 0
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]] | None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start writing (on the running event loop)."""
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name=f"survey-{self.name}-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None or self._queue is None:
            return
        self._queue.put_nowait(None)
        await self._task
        self._task = None

    async def submit(self, item: Item) -> Result:
        """Write ``item`` with the next batch (at once, alone, when the writer is not running)."""
        if not self.running or self._queue is None:
            return (await self.apply([item]))[0]
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((item, future))
        return await future

    async def _run(self) -> None:
        assert self._queue is not None
        queue = self._queue
        deferred: list[tuple[Item, asyncio.Future[Result]]] = []
        stopping = False
        while not stopping or deferred:
            pending, deferred = deferred, []
            if not pending:
                entry = await queue.get()
                if entry is None:
                    stopping = True
                    continue
                pending = [entry]
            total = sum(self.size(item) for item, _ in pending)
            while total < self.max_batch and not queue.empty():
                entry = queue.get_nowait()
                if entry is None:
                    stopping = True
                    break
                pending.append(entry)
                total += self.size(entry[0])
            batch: list[tuple[Item, asyncio.Future[Result]]] = []
            keys: set[Hashable] = set()
            taken = 0
            for entry in pending:
                item_key = self.key(entry[0]) if self.key is not None else None
                repeated = item_key is not None and item_key in keys
                # the first item always goes, however large; the rest only while the batch has room
                if repeated or (batch and taken + self.size(entry[0]) > self.max_batch):
                    deferred.append(entry)
                    continue
                if item_key is not None:
                    keys.add(item_key)
                taken += self.size(entry[0])
                batch.append(entry)
            await self._write(batch)

    async def _write(self, batch: list[tuple[Item, asyncio.Future[Result]]]) -> None:
        self.batches += 1
        try:
            results = await self.apply([item for item, _ in batch])
        except Exception:
            # also a batch of one: a concurrent writer (another process) may have won a race, and the
            # item's second transaction sees what it wrote
            log.exception("a batch of %d %s failed; writing them one by one", len(batch), self.name)
            for item, future in batch:
                try:
                    result = (await self.apply([item]))[0]
                except Exception as failure:  # this one item is at fault
                    if not future.done():
                        future.set_exception(failure)
                else:
                    if not future.done():
                        future.set_result(result)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
