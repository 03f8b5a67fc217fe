"""``fitgate db up``: a throwaway PostgreSQL for local work, stopped on Ctrl-C."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any

from fitness.config import DEFAULT_CONFIG, load_config
from fitness.database import open_server
from fitness.database.databases import create_database
from fitness.installation import run_installer


def register(commands: Any) -> None:
    parser = commands.add_parser("db", help="run a throwaway PostgreSQL")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    up = actions.add_parser("up", help="start a server, print its URL, stop it on Ctrl-C")
    up.add_argument(
        "--install",
        action="store_true",
        help="create database 'platform' and run the config's installer into it",
    )
    up.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="contract file")
    up.set_defaults(handler=up_command)


def up_command(args: argparse.Namespace) -> int:
    config = load_config(args.config) if args.install else None
    with open_server() as (server, provisioned):
        url = server.url("postgres")
        if config is not None:
            url = create_database(url, "platform")
            run_installer(config, url)
        print(f"{server.label} is up", flush=True)
        print(f"FITGATE_DATABASE_URL={url}", flush=True)
        if not provisioned:
            return 0
        print("press Ctrl-C to stop it and remove its files", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            print("stopping", flush=True)
    return 0
