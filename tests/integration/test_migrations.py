"""The committed migrations build every table and column the code declares, on both databases."""

from __future__ import annotations


async def test_every_declared_column_exists_after_migrating(database):
    from survey.db import all_tables

    for table in all_tables():
        await table.select().limit(1)  # raises if a table or a column is missing
        for column in table._meta.columns:
            await table.select(column).limit(1)


async def test_migrating_twice_changes_nothing(database):
    from survey.db import migrate
    from survey.reference import seed_reference
    from survey.tables import Unit

    await seed_reference()
    before = await Unit.count()
    await migrate()
    assert await Unit.count() == before > 10


async def test_reference_seeding_is_idempotent_and_builds_the_tree(database):
    from survey.reference import PROVINCES, seed_reference
    from survey.tables import Counter, CounterService, Service, Unit

    first = await seed_reference()
    again = await seed_reference()
    assert again == {"units": 0, "services": 0, "counters": 0}
    assert first["units"] == 1 + len(PROVINCES) + sum(len(p.districts) for p in PROVINCES)
    district = await Unit.objects().get(Unit.code == "HN-BD")
    assert district.path == "/VN/HN/HN-BD/"
    in_hanoi = await Unit.count().where(Unit.path.like("/VN/HN/%"))
    assert in_hanoi == 1 + 4
    assert await Service.count() >= 10
    counter = await Counter.objects().get(Counter.code == "HN-BD-Q1")
    assert await CounterService.count().where(CounterService.counter == counter.id) > 1
