"""``fitgate check``: run the fitness functions and gate on the result."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fitness import registry
from fitness.cli.output import write_atomically
from fitness.config import DEFAULT_CONFIG, Config, load_config
from fitness.database import open_server
from fitness.database.databases import create_database
from fitness.database.existing import ExistingServer
from fitness.database.resolution import database_url_from_environment
from fitness.engine import CheckContext
from fitness.engine.context import DatabaseTarget
from fitness.engine.runner import BaselineKey, check
from fitness.errors import UsageError
from fitness.installation import run_installer
from fitness.report import FORMATS

CHECK_DATABASE = "fitgate_check"


def register(commands: Any) -> None:
    parser = commands.add_parser("check", help="run the fitness functions and gate on them")
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="contract file")
    parser.add_argument("--database-url", help="check this database as it is (installs nothing)")
    parser.add_argument("--only", help="comma-separated fitness ids to run")
    parser.add_argument("--format", choices=sorted(FORMATS), default="text")
    parser.add_argument("--output", type=Path, help="write the report here instead of stdout")
    parser.add_argument("--baseline", type=Path, help="a JSON report whose violations are known")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    ids = selected_ids(args.only)
    baseline = read_baseline(args.baseline) if args.baseline else set()
    needs_database = any(registry.load(i).needs_database for i in ids)
    with database_for(config, args.database_url, needs_database) as context:
        check_run = check(context, ids, baseline)
    report = FORMATS[args.format](check_run)
    if args.output:
        write_atomically(args.output, report)
        summary = check_run.summary()
        print(
            f"fitgate check: {summary['passed']} passed, {summary['failed']} failed, "
            f"{summary['errors']} errors, {summary['skipped']} skipped; report in {args.output}"
        )
    else:
        sys.stdout.write(report)
    return check_run.exit_code


def selected_ids(only: str | None) -> list[str]:
    if only is None:
        return registry.default_ids()
    ids = [part.strip() for part in only.split(",") if part.strip()]
    if not ids:
        raise UsageError("--only: no fitness id given")
    for fitness_id in ids:
        if fitness_id not in registry.FITNESS_IDS:
            raise UsageError(
                f"--only: unknown fitness id {fitness_id!r} (known: {', '.join(registry.FITNESS_IDS)})"
            )
    return list(dict.fromkeys(ids))


def read_baseline(path: Path) -> set[BaselineKey]:
    """The (fitness, subject, message) of every violation in an earlier JSON report."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {
            (str(result["fitness"]), str(v["subject"]), str(v["message"]))
            for result in data["results"]
            for v in result["violations"]
        }
    except OSError as exc:
        raise UsageError(f"--baseline {path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"--baseline {path}:{exc.lineno}: not JSON: {exc.msg}") from None
    except (KeyError, TypeError):
        raise UsageError(
            f"--baseline {path}: not a fitgate JSON report (expected results[].violations[])"
        ) from None


@contextlib.contextmanager
def database_for(config: Config, url: str | None, needed: bool) -> Iterator[CheckContext]:
    """The context to check in: the given database, a freshly installed one, or none."""
    given = database_url_from_environment(url)
    if not needed:
        yield CheckContext(config, None, "not needed by the selected fitness functions")
    elif given is not None:
        existing = ExistingServer(given)
        target = DatabaseTarget(given, existing.label, installed_by_fitgate=False)
        yield CheckContext(config, target)
    elif config.installer is None:
        yield CheckContext(
            config,
            None,
            f"no --database-url and no database.installer in {config.path}: nothing to check",
        )
    else:
        with open_server() as (server, _provisioned):
            target_url = create_database(server.url("postgres"), CHECK_DATABASE)
            run_installer(config, target_url)
            label = f"{server.label}, installed by {config.installer}"
            yield CheckContext(config, DatabaseTarget(target_url, label, installed_by_fitgate=True))
