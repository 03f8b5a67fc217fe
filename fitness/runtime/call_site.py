"""Which line of a service's own code is behind what the guard saw.

A connection is opened deep inside an HTTP library; a pooled connection goes
back from inside psycopg_pool. The guard walks the Python stack outwards
(through awaiting coroutines too) and names the innermost frame in the
service's package, else the innermost frame under the code root that is not
an installed library. When the stack holds none (a client connecting in a task
of its own), the suspended frames of the request's task are read instead.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from fitness.runtime.request_context import current_request, suspended_frames

_LIBRARY_MARKERS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")
_STACK_DEPTH = 8


@dataclass(frozen=True)
class CallSite:
    site: str | None  # path/file.py:LINE of the service's code, when found
    stack: list[str]  # the code-root frames around it, innermost first
    request: str | None  # METHOD /path being served, when known


@dataclass(frozen=True)
class CallSites:
    """Where to look for service code, and how to name what is found."""

    code_root: Path
    package_dir: Path | None
    fitness_dir: Path

    def find(self, frame: FrameType | None) -> CallSite:
        site, stack = self._first_service_frame(_outwards(frame))
        request = current_request()
        task = request.task if request is not None else None
        if site is None and task is not None and task is not _running_task():
            site, stack = self._first_service_frame(suspended_frames(task))
        return CallSite(site, stack, request.description if request is not None else None)

    def _first_service_frame(self, frames: Iterable[FrameType]) -> tuple[str | None, list[str]]:
        root = f"{self.code_root}{os.sep}"
        package = f"{self.package_dir}{os.sep}" if self.package_dir is not None else None
        fitness = f"{self.fitness_dir}{os.sep}"
        in_package: str | None = None
        in_root: str | None = None
        stack: list[str] = []
        for frame in frames:
            if len(stack) >= _STACK_DEPTH:
                break
            filename = frame.f_code.co_filename
            if (
                not filename.startswith(root)
                or filename.startswith(fitness)
                or any(marker in filename for marker in _LIBRARY_MARKERS)
            ):
                continue
            site = f"{Path(filename).relative_to(self.code_root).as_posix()}:{frame.f_lineno}"
            stack.append(site)
            if in_package is None and package is not None and filename.startswith(package):
                in_package = site
            if in_root is None:
                in_root = site
        return in_package or in_root, stack


def caller_frame() -> FrameType | None:
    """The frame of whoever called the function calling this one."""
    return sys._getframe(2)


def _outwards(frame: FrameType | None) -> Iterator[FrameType]:
    while frame is not None:
        yield frame
        frame = frame.f_back


def _running_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        return None
