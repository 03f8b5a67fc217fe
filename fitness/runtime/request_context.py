"""Which request a guarded service is serving, for records made away from its code.

An async HTTP client often connects in a task of its own (happy eyeballs), so
the stack the guard sees holds no line of the service. :class:`GuardedApp`
wraps the service's ASGI app and remembers, per request, the request's task
and ``METHOD /path``; child tasks and worker threads inherit it (contextvars),
and the guard reads the service's line from the request task's suspended
coroutines instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import FrameType
from typing import Any

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Request:
    task: asyncio.Task[Any] | None
    description: str  # METHOD /path


_CURRENT: ContextVar[Request | None] = ContextVar("fitgate_guarded_request", default=None)


def current_request() -> Request | None:
    return _CURRENT.get()


class GuardedApp:
    """An ASGI app that remembers the request it serves for the guard."""

    def __init__(self, app: AsgiApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        request = Request(asyncio.current_task(), f"{scope.get('method', '')} {scope.get('path', '')}")
        token = _CURRENT.set(request)
        try:
            await self.app(scope, receive, send)
        finally:
            _CURRENT.reset(token)


def suspended_frames(task: asyncio.Task[Any]) -> Iterator[FrameType]:
    """The frames of a suspended task, innermost first (through every awaited coroutine)."""
    frames: list[FrameType] = []
    awaited: Any = task.get_coro()
    while awaited is not None and len(frames) < 256:
        frame = (
            getattr(awaited, "cr_frame", None)
            or getattr(awaited, "gi_frame", None)
            or getattr(awaited, "ag_frame", None)
        )
        if frame is not None:
            frames.append(frame)
        awaited = (
            getattr(awaited, "cr_await", None)
            or getattr(awaited, "gi_yieldfrom", None)
            or getattr(awaited, "ag_await", None)
        )
    return reversed(frames)
