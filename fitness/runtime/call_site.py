"""Which line of a service's own code is behind what the guard saw.

A connection is opened deep inside an HTTP library; a pooled connection goes
back from inside psycopg_pool. The guard walks the Python stack outwards
(through awaiting coroutines too) and names the innermost frame in the
service's package, else the innermost frame under the code root that is not
an installed library.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

_LIBRARY_MARKERS = (f"{os.sep}site-packages{os.sep}", f"{os.sep}dist-packages{os.sep}")
_STACK_DEPTH = 8


@dataclass(frozen=True)
class CallSites:
    """Where to look for service code, and how to name what is found."""

    code_root: Path
    package_dir: Path | None
    fitness_dir: Path

    def find(self, frame: FrameType | None) -> tuple[str | None, list[str]]:
        """The service line responsible (or None) and the code-root frames around it."""
        root = f"{self.code_root}{os.sep}"
        package = f"{self.package_dir}{os.sep}" if self.package_dir is not None else None
        fitness = f"{self.fitness_dir}{os.sep}"
        in_package: str | None = None
        in_root: str | None = None
        stack: list[str] = []
        while frame is not None and len(stack) < _STACK_DEPTH:
            filename = frame.f_code.co_filename
            if (
                filename.startswith(root)
                and not filename.startswith(fitness)
                and not any(marker in filename for marker in _LIBRARY_MARKERS)
            ):
                site = f"{Path(filename).relative_to(self.code_root).as_posix()}:{frame.f_lineno}"
                stack.append(site)
                if in_package is None and package is not None and filename.startswith(package):
                    in_package = site
                if in_root is None:
                    in_root = site
            frame = frame.f_back
        return in_package or in_root, stack


def caller_frame() -> FrameType | None:
    """The frame of whoever called the function calling this one."""
    return sys._getframe(2)
