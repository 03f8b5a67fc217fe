"""``fitgate adr``: the decision records and the fitness functions enforcing each."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fitness import registry
from fitness.adr import Adr, read_adrs
from fitness.config import DEFAULT_CONFIG, load_config
from fitness.errors import UsageError


def register(commands: Any) -> None:
    parser = commands.add_parser("adr", help="list or show architecture decision records")
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="contract file")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every ADR with its status and enforcement")
    listing.set_defaults(handler=list_adrs)
    show = actions.add_parser("show", help="one ADR in full")
    show.add_argument("id", help="ADR id, e.g. ADR-0002 (or just 2)")
    show.set_defaults(handler=show_adr)


def _adrs(config_path: Path) -> list[Adr]:
    if config_path.exists():
        return list(load_config(config_path).adrs)
    if config_path != Path(DEFAULT_CONFIG):
        raise UsageError(f"--config {config_path}: no such file")
    return read_adrs(Path("adr"))


def _enforcement(adr: Adr) -> str:
    if not adr.enforced_by:
        return "(not enforced)"
    return ", ".join(fid if fid in registry.FITNESS_IDS else f"{fid} (unknown!)" for fid in adr.enforced_by)


def list_adrs(args: argparse.Namespace) -> int:
    adrs = _adrs(args.config)
    if not adrs:
        print("no ADRs found")
        return 0
    width = max(len(a.title) for a in adrs)
    for adr in adrs:
        print(f"{adr.id}  {adr.status:<10}  {adr.title.ljust(width)}  enforced by: {_enforcement(adr)}")
    return 0


def show_adr(args: argparse.Namespace) -> int:
    wanted = args.id.upper()
    if wanted.isdigit():
        wanted = f"ADR-{int(wanted):04d}"
    adrs = _adrs(args.config)
    adr = next((a for a in adrs if a.id == wanted), None)
    if adr is None:
        known = ", ".join(a.id for a in adrs) or "none"
        raise UsageError(f"adr show: no ADR {args.id} (known: {known})")
    print(f"{adr.id}: {adr.title}")
    print(f"status: {adr.status}" + (f" (by {adr.superseded_by})" if adr.superseded_by else ""))
    print(f"date: {adr.date.isoformat()}")
    print(f"attributes: {', '.join(adr.attributes) or '-'}")
    print(f"enforced by: {_enforcement(adr)}")
    print(f"file: {adr.path}")
    print()
    print(adr.body, end="")
    return 0
