"""run_sql_many: several statements in one call on the transaction's connection, and the commit with them.

What the submission writer rests on: a batch's last round trip commits it, and a failure before that rolls the
whole batch back.
"""

from __future__ import annotations

import pytest

from survey.db import run_sql, run_sql_many, write_transaction

INSERT = "INSERT INTO service (code, name_vi, name_en, active) VALUES ({}, {}, {}, {}) RETURNING id, code"


async def codes() -> list[str]:
    return [row["code"] for row in await run_sql("SELECT code FROM service ORDER BY code")]


async def test_statements_run_in_order_and_return_the_rows_of_each(database):
    async with write_transaction():
        inserted, seen, empty = await run_sql_many([
            (INSERT, ["A", "a", "a", True]),
            ("SELECT code FROM service WHERE code = {}", ["A"]),
            ("UPDATE service SET active = {} WHERE code = {}", [False, "none"]),
        ])
    assert [row["code"] for row in inserted] == ["A"]
    assert seen == [{"code": "A"}]  # the second statement sees the first one's row
    assert empty == []
    assert await codes() == ["A"]


async def test_commit_with_the_last_statements_commits_them_and_the_block_ends_cleanly(database):
    async with write_transaction():
        await run_sql_many([(INSERT, ["B", "b", "b", True])])
        await run_sql_many([(INSERT, ["B2", "b", "b", True])], commit=True)
    assert await codes() == ["B", "B2"]
    async with write_transaction():  # the connection went back to the pool usable
        await run_sql_many([(INSERT, ["B3", "b", "b", True])], commit=True)
    assert await codes() == ["B", "B2", "B3"]


async def test_a_failure_before_the_commit_rolls_every_statement_back(database):
    with pytest.raises(RuntimeError, match="before the commit"):
        async with write_transaction():
            await run_sql_many([(INSERT, ["C", "c", "c", True])])
            raise RuntimeError("before the commit")
    assert await codes() == []


async def test_a_failing_statement_in_the_committing_call_commits_nothing(database):
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        async with write_transaction():
            await run_sql_many([(INSERT, ["D", "d", "d", True]), (INSERT, ["D", "d", "d", True])], commit=True)
    assert await codes() == []
