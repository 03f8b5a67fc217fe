"""The ``fitgate`` command line: one module per subcommand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from fitness import __version__
from fitness.cli import adr, check, db, events, load, serve
from fitness.errors import FitgateError, UsageError

SUBCOMMANDS = (check, load, adr, db, serve, events)


class OneLineParser(argparse.ArgumentParser):
    """Bad arguments end as a one-line :class:`UsageError` (exit 2), not a usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="fitgate",
        description="Executable architecture fitness functions for multi-tenant PostgreSQL.",
    )
    parser.add_argument("--version", action="version", version=f"fitgate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args)
    except FitgateError as exc:
        print(f"fitgate: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fitgate: interrupted", file=sys.stderr)
        return 130
    return code


def entry_point() -> NoReturn:
    sys.exit(main())
