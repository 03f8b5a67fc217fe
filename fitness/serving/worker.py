"""``python -m fitness.serving.worker``: one service process.

Loads the ASGI app named ``module:attribute`` (with ``--code-root`` importable)
and serves it with uvicorn on the listening socket inherited as ``--fd``, so the
parent chose and bound the port before the child started (no race for it).
uvicorn stops gracefully on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from fitness.errors import FitgateError
from fitness.named_objects import load_named_object


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fitness.serving.worker")
    parser.add_argument("--app", required=True, help="module:attribute of the ASGI app")
    parser.add_argument("--code-root", required=True, type=Path)
    parser.add_argument("--fd", required=True, type=int, help="an inherited listening socket")
    args = parser.parse_args(argv)
    try:
        app = load_named_object(args.app, args.code_root)
    except FitgateError as exc:
        print(f"fitgate worker: {exc}", file=sys.stderr)
        return 2
    listener = socket.socket(fileno=args.fd)
    # log_config=None: the app configures logging itself (the reference logs JSON lines).
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    return 0 if server.started else 3


if __name__ == "__main__":
    sys.exit(main())
