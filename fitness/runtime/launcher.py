"""Starting one service in its own process, guarded when ``FITGATE_GUARD`` asks.

``python -m fitness.runtime.launcher --config quality-attributes.yaml --service auth [--port N]``
installs the runtime guards (see :mod:`fitness.runtime.guards`) before the
service's app (``services.<name>.app``) is imported, so every pool and client
the app makes is watched, then serves it with uvicorn on asyncio's own event
loop (uvloop connects in C, out of the guard's sight).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from fitness.cli import OneLineParser
from fitness.config import DEFAULT_CONFIG, load_config
from fitness.errors import FitgateError
from fitness.named_objects import load_named_object
from fitness.runtime.guards import install_guards
from fitness.runtime.request_context import GuardedApp


def main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m fitness.runtime.launcher", description=__doc__)
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="contract file")
    parser.add_argument("--service", required=True, help="the service to run")
    parser.add_argument("--host", default=None, help="listen address (default: the service's url)")
    parser.add_argument("--port", type=int, default=None, help="listen port (default: the service's url)")
    try:
        args = parser.parse_args(argv)
        config = load_config(args.config)
        service = config.services.get(args.service)
        if service is None:
            raise FitgateError(f"{args.config}: no service named {args.service}")
        if service.app is None:
            raise config.error_at(("services", args.service), "no app: nothing to serve")
        url = urlsplit(service.url or "http://127.0.0.1")
        host = args.host or url.hostname or "127.0.0.1"
        port = args.port or url.port
        if port is None:
            raise config.error_at(("services", args.service, "url"), "no port; pass --port")
        guarded = install_guards(config, args.service)
        app = load_named_object(service.app, config.code_root)
        if guarded is not None:
            app = GuardedApp(app)
    except FitgateError as exc:
        print(f"fitgate: error: {exc}", file=sys.stderr)
        return 2
    import uvicorn  # only a process that serves needs it

    uvicorn.run(app, host=host, port=port, loop="asyncio", log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
