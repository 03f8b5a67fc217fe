"""Checking every connection that goes back to a psycopg_pool pool for a leftover tenant.

``putconn`` (also reached from ``pool.connection()``) is wrapped: before the
pool takes the connection back, the guard reads the tenant setting on it. A
transaction still open is rolled back first, as the pool itself would do, so
only a value set for the session is seen. A non-empty value is a leak: the
next request on that connection would run as that tenant.

A leak is reported once, where it happened: the same connection coming back
later with the same value (through whatever innocent code used it next) is the
same leak, not a new one. Once the setting is cleared, the connection is clean
again, and a new leak on it is reported.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

OnLeak = Callable[[str], bool]  # called with the value left behind; true: discard the connection

READ_SETTING = "SELECT current_setting(%s, true)"  # missing_ok: NULL when never set
_PATCHED = "_fitgate_guarded"
# Connections known to leak, with the value they were reported with.
_reported: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def install_pool_guard(setting: str, on_leak: OnLeak) -> None:
    """Wrap ``putconn`` of psycopg_pool's pools (pools made before this call included)."""
    sync_put = ConnectionPool.putconn
    if not getattr(sync_put, _PATCHED, False):

        @functools.wraps(sync_put)
        def putconn(pool: ConnectionPool[Any], conn: psycopg.Connection[Any]) -> None:
            _inspect(conn, setting, on_leak)
            sync_put(pool, conn)

        setattr(putconn, _PATCHED, True)
        ConnectionPool.putconn = putconn  # type: ignore[method-assign,assignment]

    async_put: Callable[[AsyncConnectionPool[Any], psycopg.AsyncConnection[Any]], Awaitable[None]]
    async_put = AsyncConnectionPool.putconn
    if not getattr(async_put, _PATCHED, False):

        @functools.wraps(async_put)
        async def aputconn(pool: AsyncConnectionPool[Any], conn: psycopg.AsyncConnection[Any]) -> None:
            await _ainspect(conn, setting, on_leak)
            await async_put(pool, conn)

        setattr(aputconn, _PATCHED, True)
        AsyncConnectionPool.putconn = aputconn  # type: ignore[method-assign,assignment]


def _inspect(conn: psycopg.Connection[Any], setting: str, on_leak: OnLeak) -> None:
    try:
        if conn.closed or conn.info.transaction_status == TransactionStatus.ACTIVE:
            return  # the pool discards it anyway
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
        with conn.cursor(row_factory=tuple_row) as cursor:
            row = cursor.execute(READ_SETTING, (setting,)).fetchone()
        if conn.info.transaction_status != TransactionStatus.IDLE:
            conn.rollback()
    except psycopg.Error:
        return  # a broken connection: the pool replaces it
    if _is_new_leak(conn, row[0] if row else None, on_leak):
        conn.close()


async def _ainspect(conn: psycopg.AsyncConnection[Any], setting: str, on_leak: OnLeak) -> None:
    try:
        if conn.closed or conn.info.transaction_status == TransactionStatus.ACTIVE:
            return
        if conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.rollback()
        async with conn.cursor(row_factory=tuple_row) as cursor:
            await cursor.execute(READ_SETTING, (setting,))
            row = await cursor.fetchone()
        if conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.rollback()
    except psycopg.Error:
        return
    if _is_new_leak(conn, row[0] if row else None, on_leak):
        await conn.close()


def _is_new_leak(conn: Any, value: object, on_leak: OnLeak) -> bool:
    """Report a leak not reported before; whether to discard the connection."""
    if not value:
        _reported.pop(conn, None)  # clean (again)
        return False
    if _reported.get(conn) == str(value):
        return False  # the same leak, already reported where it happened
    _reported[conn] = str(value)
    return on_leak(str(value))
