"""Stopping a long-running command cleanly on Ctrl-C or SIGTERM.

Inside :func:`stop_on_signals`, the first SIGINT or SIGTERM raises
:class:`StopRequested` wherever the program is, so every ``finally`` and
context manager on the way out runs (services stopped, database removed);
further signals are ignored while that clean-up runs.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType


class StopRequested(Exception):
    """SIGTERM or SIGINT asked the command to stop."""


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    def stop(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise StopRequested

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
