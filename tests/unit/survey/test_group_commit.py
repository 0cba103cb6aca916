"""The group-commit writer: queued items written together, each caller answered with its own outcome."""

from __future__ import annotations

import asyncio

import pytest

from survey.services.group_commit import GroupWriter


class Store:
    """Stands in for a database: a batch is one 'transaction' that fails whole when any item is bad."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def write(self, items: list[str]) -> list[str]:
        await asyncio.sleep(0)
        if any(item.startswith("bad") for item in items):
            raise ValueError(f"cannot store {items}")
        self.batches.append(items)
        return [item.upper() for item in items]


async def test_concurrent_callers_share_a_batch_and_each_gets_its_own_outcome() -> None:
    store = Store()
    writer = GroupWriter(store.write, name="test")
    writer.start()
    try:
        results = await asyncio.gather(*(writer.submit(f"item-{i}") for i in range(50)))
    finally:
        await writer.stop()
    assert results == [f"ITEM-{i}" for i in range(50)]
    assert len(store.batches) < 50  # grouped, not one transaction per caller
    assert sorted(item for batch in store.batches for item in batch) == sorted(f"item-{i}" for i in range(50))


async def test_one_bad_item_fails_only_its_own_caller() -> None:
    store = Store()
    writer = GroupWriter(store.write, name="test")
    writer.start()
    try:
        results = await asyncio.gather(writer.submit("a"), writer.submit("bad"), writer.submit("c"),
                                       return_exceptions=True)
    finally:
        await writer.stop()
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)
    assert ["a"] in store.batches and ["c"] in store.batches  # retried one per transaction


async def test_items_of_one_key_never_share_a_batch() -> None:
    store = Store()
    writer = GroupWriter(store.write, name="test", key=lambda item: item.split(":")[0])
    writer.start()
    try:
        await asyncio.gather(*(writer.submit(item) for item in ["link1:a", "link1:b", "link2:a", "link1:c"]))
    finally:
        await writer.stop()
    for batch in store.batches:
        keys = [item.split(":")[0] for item in batch]
        assert len(keys) == len(set(keys)), store.batches
    assert [item for batch in store.batches for item in batch if item.startswith("link1")] == [
        "link1:a", "link1:b", "link1:c"]  # in the order they came


async def test_a_batch_holds_at_most_max_batch_by_size() -> None:
    store = Store()
    writer = GroupWriter(store.write, name="test", max_batch=5, size=len)
    writer.start()
    try:
        await asyncio.gather(*(writer.submit("xx") for _ in range(10)))
    finally:
        await writer.stop()
    assert all(sum(map(len, batch)) <= 5 for batch in store.batches)
    assert sum(len(batch) for batch in store.batches) == 10


async def test_a_writer_not_running_writes_at_once_and_stopping_drains_the_queue() -> None:
    store = Store()
    writer = GroupWriter(store.write, name="test")
    assert await writer.submit("now") == "NOW" and store.batches == [["now"]]
    with pytest.raises(ValueError):
        await writer.submit("bad")
    writer.start()
    pending = [asyncio.ensure_future(writer.submit(f"late-{i}")) for i in range(5)]
    await asyncio.sleep(0)
    await writer.stop()
    assert [task.result() for task in pending] == [f"LATE-{i}" for i in range(5)]
