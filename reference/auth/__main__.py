"""``python -m reference.auth [--host H] [--port N]``: run the auth service with uvicorn.

Reads its database URL and other settings from the environment
(:mod:`reference.platform.settings`).
"""

from __future__ import annotations

import argparse

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m reference.auth", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    uvicorn.run("reference.auth.app:app", host=args.host, port=args.port, log_config=None)


if __name__ == "__main__":
    main()
