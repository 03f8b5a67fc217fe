"""Child processes that never outlive fitgate (database servers, service processes)."""

from __future__ import annotations

import contextlib
import ctypes
import signal
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent(signum: signal.Signals) -> Callable[[], None]:
    """A ``preexec_fn`` asking Linux to send ``signum`` to the child when fitgate dies, even by SIGKILL."""

    def request_signal() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signum)

    return request_signal
