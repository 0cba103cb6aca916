"""The one database engine factory, and the SQLite engine with a pool of persistent connections.

Piccolo's ``SQLiteEngine`` opens a new connection (and a thread) for every query outside a
transaction, which caps single-row work at a few hundred queries a second. ``PooledSQLiteEngine``
keeps a few connections open instead; transactions still get a connection of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import weakref
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

from survey.settings import DatabaseSettings, get_settings

__all__ = [
    "NUL",
    "PooledSQLiteEngine",
    "Statement",
    "TransactionType",
    "all_tables",
    "aware",
    "bind",
    "compile_sql",
    "create_engine",
    "engine",
    "history_append_sql",
    "is_sqlite",
    "is_unique_violation",
    "marks",
    "migrate",
    "run_sql",
    "run_sql_many",
    "run_sql_rows",
    "sql_param",
    "write_transaction",
]

SQLITE_BUSY_TIMEOUT_S = 30.0
# PostgreSQL refuses U+0000 in text and SQLite stores it: the boundary removes or refuses it, on both alike
NUL = "\x00"


class PooledSQLiteEngine(SQLiteEngine):
    """SQLite in WAL mode with up to ``pool_size`` persistent autocommit connections."""

    def __init__(self, path: str, pool_size: int = 8, **kwargs: Any) -> None:
        super().__init__(path=path, timeout=SQLITE_BUSY_TIMEOUT_S, **kwargs)
        self.pool_size = pool_size
        # aiosqlite connections answer on whichever loop awaits them, so idle ones are shared; the
        # semaphore that caps them is bound to a loop, so there is one per loop (tests run two)
        self._idle: list[aiosqlite.Connection] = []
        self._limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    async def _connect(self, *, daemon: bool = False) -> aiosqlite.Connection:
        pending = aiosqlite.connect(**self.connection_kwargs)
        # pooled connections are autocommit and idle between queries: let them not hold the process open
        pending._thread.daemon = daemon
        connection = await pending
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA synchronous = FULL")
        return connection

    async def get_connection(self) -> aiosqlite.Connection:  # type: ignore[override]
        # a connection outside the pool, configured like the pooled ones (Piccolo's batch() closes it)
        return await self._connect()

    def _pool(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        limit = self._limits.get(loop)
        if limit is None:
            limit = self._limits[loop] = asyncio.Semaphore(self.pool_size)
        return limit

    async def acquire(self) -> aiosqlite.Connection:
        """A pooled connection; give it back with :meth:`release`."""
        await self._pool().acquire()
        try:
            return self._idle.pop() if self._idle else await self._connect(daemon=True)
        except BaseException:
            self._pool().release()
            raise

    async def release(self, connection: aiosqlite.Connection, *, broken: bool = False) -> None:
        if broken or connection.in_transaction:
            with contextlib.suppress(Exception):
                await connection.close()
        else:
            self._idle.append(connection)
        self._pool().release()

    @contextlib.asynccontextmanager
    async def _pooled(self) -> AsyncIterator[aiosqlite.Connection]:
        connection = await self.acquire()
        try:
            yield connection
        except BaseException:
            await self.release(connection, broken=True)
            raise
        else:
            await self.release(connection)

    def transaction(  # type: ignore[override]
        self, allow_nested: bool = True, transaction_type: TransactionType = TransactionType.deferred
    ) -> PooledSQLiteTransaction:
        return PooledSQLiteTransaction(engine=self, allow_nested=allow_nested, transaction_type=transaction_type)

    async def _run_in_existing_connection(
        self,
        connection: Any,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        # Piccolo re-sends 'PRAGMA foreign_keys' before every statement; our connections set it once
        transaction = self.current_transaction.get()
        begin = transaction.take_begin() if isinstance(transaction, PooledSQLiteTransaction) else None
        return (await _sqlite_call(connection, [(query, list(args or []))], _fetch_piccolo, begin=begin))[0]

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        async with self._pooled() as connection, connection.execute(query, args or []) as cursor:
            rows = await cursor.fetchall()
            await connection.commit()
            return rows

    async def fetch(self, query: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        """Run ``query`` (``?`` placeholders) on a pooled autocommit connection and return its rows."""
        async with self._pooled() as connection:
            return (await _sqlite_call(connection, [(query, list(args))], _fetch_dicts, commit=True))[0]

    async def close_pool(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()


Statement = tuple[str, Sequence[Any]]  # SQL with ``{}`` placeholders (see compile_sql) and its parameters


def _fetch_dicts(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [column[0] for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()] if names else []


def _fetch_tuples(cursor: sqlite3.Cursor) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in cursor.fetchall()]


def _fetch_piccolo(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    return [dict_factory(cursor, row) for row in cursor.fetchall()] if cursor.description else []


def _run_statements(connection: sqlite3.Connection, statements: Sequence[tuple[str, list[Any]]], fetch: Any,
                    begin: str | None, commit: bool) -> list[Any]:
    """On the connection's thread: BEGIN (when deferred), each statement with its rows fetched, COMMIT."""
    if begin is not None:
        connection.execute(begin)
    results = []
    cursor = connection.cursor()
    cursor.row_factory = None  # rows as tuples, shaped by ``fetch``
    try:
        for query, params in statements:
            cursor.execute(query, params)
            results.append(fetch(cursor))
    finally:
        cursor.close()
    if commit:
        connection.commit()
    return results


async def _sqlite_call(connection: aiosqlite.Connection, statements: Sequence[tuple[str, list[Any]]], fetch: Any, *,
                       begin: str | None = None, commit: bool = False) -> list[Any]:
    """Run ``statements`` (``?`` placeholders) in ONE call on the connection's thread, not one call per step.

    Every call on an aiosqlite connection waits for the event loop to come round; under load a loop iteration
    serves many requests, so a group commit of a dozen statements spent most of its time between them.
    """
    return await connection._execute(_run_statements, connection._conn, statements, fetch, begin,  # noqa: SLF001
                                     commit)


class PooledSQLiteTransaction(SQLiteTransaction):
    """A transaction on a pooled connection, given back to the pool afterwards instead of closed."""

    engine: PooledSQLiteEngine
    _deferred_begin: str | None = None

    async def get_connection(self) -> aiosqlite.Connection:
        return await self.engine.acquire()

    async def begin(self) -> None:
        # sent with the first statement (one call on the connection's thread fewer); nothing runs in between
        self._deferred_begin = f"BEGIN {self.transaction_type.value}"

    def take_begin(self) -> str | None:
        """The BEGIN not sent yet (to send before the next statement), or ``None``."""
        begin, self._deferred_begin = self._deferred_begin, None
        return begin

    async def begun(self) -> aiosqlite.Connection:
        """The transaction's connection, its BEGIN sent: for direct use of the aiosqlite connection."""
        begin = self.take_begin()
        if begin is not None:
            await self.connection.execute(begin)
        return self.connection

    async def commit(self) -> None:
        if self.take_begin() is not None:  # nothing ran: nothing to commit
            self._committed = True
            return
        await super().commit()

    async def rollback(self) -> None:
        if self.take_begin() is not None:
            self._rolled_back = True
            return
        await super().rollback()

    async def savepoint(self, name: str | None = None) -> Any:
        await self.begun()
        return await super().savepoint(name)

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        if self._parent:
            return exception is None
        broken = False
        try:
            if exception:
                if not self._rolled_back and not self._committed:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            broken = True
            raise
        finally:
            await self.engine.release(self.connection, broken=broken)
            self.engine.current_transaction.reset(self.context)
        return exception is None


def create_engine(database: DatabaseSettings | None = None) -> Engine[Any]:
    """The engine for the configured database (``SURVEY_DATABASE_URL``)."""
    database = database or get_settings().database
    if database.is_sqlite:
        path = database.sqlite_path
        path.parent.mkdir(parents=True, exist_ok=True)
        # WAL is a property of the file: set it once so every reader and writer process shares it
        with contextlib.closing(sqlite3.connect(path)) as connection:
            connection.execute("PRAGMA journal_mode = WAL")
        return PooledSQLiteEngine(path=str(path))
    return PostgresEngine(config=database.postgres_config, extensions=())


def engine() -> Engine[Any]:
    """The engine every table is bound to (Piccolo's configured ``DB``)."""
    from survey.tables import Unit

    return Unit._meta.db


def write_transaction() -> Any:
    """A transaction that takes the write lock at once on SQLite (no upgrade deadlocks)."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


def all_tables() -> list[type[Any]]:
    from survey.piccolo_app import APP_CONFIG

    return list(APP_CONFIG.table_classes)


def bind(db: Engine[Any]) -> None:
    """Point every table at ``db`` (tests switch between SQLite and PostgreSQL in one run)."""
    from piccolo.apps.migrations.tables import Migration

    import survey.piccolo_conf as conf

    conf.DB = db  # what Piccolo's engine_finder() returns, e.g. to the migration manager
    for table in [*all_tables(), Migration]:
        table._meta._db = db


async def migrate() -> None:
    """Apply the committed migrations that have not run yet."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards("survey")
    if not result.success:
        raise RuntimeError(f"migrations failed: {result.message}")


# --- the one raw-SQL helper --------------------------------------------------------------------------------------
# The query builder costs more than the database work on the hot paths (group commits, extracts of a million
# rows), so those run SQL directly. Statements are written once with ``{}`` placeholders; ``sql()`` compiles them
# per database, runs them in the open transaction when there is one, and returns plain dicts.


def is_sqlite() -> bool:
    """Whether the tables are bound to SQLite (else PostgreSQL)."""
    return isinstance(engine(), SQLiteEngine)


def marks(count: int) -> str:
    """``count`` placeholders for an ``IN (...)`` list or a VALUES row: ``{}, {}, {}``."""
    return ", ".join(["{}"] * count)


def compile_sql(query: str, count: int, *, sqlite: bool | None = None) -> str:
    """``query`` with its ``{}`` placeholders as the database writes them (``?`` or ``$1, $2, ...``).

    >>> compile_sql("SELECT {} + {}", 2, sqlite=False)
    'SELECT $1 + $2'
    >>> compile_sql("SELECT {} + {}", 2, sqlite=True)
    'SELECT ? + ?'
    """
    if is_sqlite() if sqlite is None else sqlite:
        return query.format(*["?"] * count)
    return query.format(*[f"${i}" for i in range(1, count + 1)])


def sql_param(value: Any, *, sqlite: bool | None = None) -> Any:
    """A parameter as the database stores it: aware datetimes as UTC text on SQLite (Piccolo's format)."""
    if isinstance(value, datetime) and (is_sqlite() if sqlite is None else sqlite):
        return str(value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC))
    return value


def aware(value: datetime | str | None) -> datetime | None:
    """A timestamp read back from either database as an aware datetime (SQLite may give text, or naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def is_unique_violation(error: BaseException) -> bool:
    """Whether ``error`` is a unique-constraint violation, on SQLite or PostgreSQL."""
    if isinstance(error, sqlite3.IntegrityError):
        return "UNIQUE" in str(error)
    try:
        from asyncpg.exceptions import UniqueViolationError
    except ImportError:  # pragma: no cover - asyncpg is installed with Piccolo's postgres extra
        return False
    return isinstance(error, UniqueViolationError)


def history_append_sql() -> str:
    """SQL appending one JSON entry (the ``{}`` parameter) to ``invitation.status_history``, per dialect."""
    if is_sqlite():
        return "json_insert(COALESCE(status_history, '[]'), '$[#]', json({}))"
    return "(COALESCE(status_history::jsonb, '[]'::jsonb) || jsonb_build_array({}::jsonb))::json"


def _compiled(statements: Sequence[Statement], sqlite: bool) -> list[tuple[str, list[Any]]]:
    return [(compile_sql(query, len(args), sqlite=sqlite), [sql_param(value, sqlite=sqlite) for value in args])
            for query, args in statements]


async def _in_transaction(transaction: Any, statements: Sequence[Statement], tuples: bool,
                          commit: bool = False) -> list[list[Any]]:
    """``statements`` run in order on ``transaction``'s connection, the rows of each (then COMMIT)."""
    if isinstance(transaction, SQLiteTransaction):
        begin = transaction.take_begin() if isinstance(transaction, PooledSQLiteTransaction) else None
        results = await _sqlite_call(transaction.connection, _compiled(statements, True),
                                     _fetch_tuples if tuples else _fetch_dicts, begin=begin, commit=commit)
    else:
        shape = tuple if tuples else dict
        results = [[shape(row) for row in await transaction.connection.fetch(query, *params)]  # type: ignore[operator]
                   for query, params in _compiled(statements, False)]
        if commit:
            await transaction.commit()
    if commit:
        transaction._committed = True  # noqa: SLF001 - Piccolo's own flag: the block's end commits nothing more
    return results


async def run_sql_many(statements: Sequence[Statement], *, tuples: bool = False,
                       commit: bool = False) -> list[list[Any]]:
    """Run ``statements`` (each ``(query, args)`` as for :func:`run_sql`) in order inside the current transaction
    and return the rows of each: on SQLite in one call on the connection's thread, which is what a group commit's
    latency is made of. ``commit`` commits the transaction after them, in the same call (the last statements of
    the block that opened the transaction, which must own it: a nested ``transaction()`` is its parent); a failure
    before it, or in it, leaves the block to roll everything back.

    >>> # inside write_transaction():  inserted, cells = await run_sql_many([(insert, values), (select, keys)])
    """
    transaction = engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("run_sql_many runs inside a transaction (write_transaction())")
    if not statements and not commit:
        return []
    return await _in_transaction(transaction, statements, tuples, commit)


async def run_sql_rows(query: str, *args: Any) -> list[tuple[Any, ...]]:
    """:func:`run_sql` with each row as a tuple in the order of its columns (for unnamed or repeated columns)."""
    db = engine()
    transaction = db.current_transaction.get()
    if transaction is not None:
        return (await _in_transaction(transaction, [(query, args)], True))[0]
    async with db.transaction():
        return await run_sql_rows(query, *args)


async def run_sql(query: str, *args: Any) -> list[dict[str, Any]]:
    """Run ``query`` (``{}`` placeholders) and return its rows as dicts.

    Inside a transaction (``write_transaction()``, Piccolo's ``transaction()``) it runs on that
    transaction's connection; outside one, on a pooled autocommit connection. Aware datetimes are
    passed as the database stores them.
    """
    db = engine()
    transaction = db.current_transaction.get()
    if transaction is not None:
        return (await _in_transaction(transaction, [(query, args)], False))[0]
    sqlite = isinstance(db, SQLiteEngine)
    ((compiled, params),) = _compiled([(query, args)], sqlite)
    if isinstance(db, PooledSQLiteEngine):
        return await db.fetch(compiled, params)
    if not isinstance(db, PostgresEngine):
        raise TypeError(f"the tables are bound to {type(db).__name__}; use create_engine()")
    if db.pool is not None:
        async with db.pool.acquire() as connection:
            return [dict(row) for row in await connection.fetch(compiled, *params)]
    connection = await db.get_new_connection()
    try:
        return [dict(row) for row in await connection.fetch(compiled, *params)]
    finally:
        await connection.close()
