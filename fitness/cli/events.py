"""``fitgate events``: history and point-in-time state of an aggregate; legacy backfill.

Exit codes: 0 done; 1 nothing found (no events for the aggregate, or none at
or before ``--at``); 2 the run could not be made (bad argument, config,
database).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg

from fitness.config import DEFAULT_CONFIG, Config, load_config
from fitness.database.existing import connect, first_line
from fitness.database.resolution import database_url_from_environment
from fitness.errors import FitgateError, UsageError
from fitness.events.backfill import BackfillReport, backfill
from fitness.events.contract import aggregate_of_kind
from fitness.events.history import EventHistory, PointInTime, RecordedEvent


def register(commands: Any) -> None:
    parser = commands.add_parser("events", help="history and past state of aggregates; backfill legacy rows")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    history = actions.add_parser("history", help="every event of one aggregate, oldest first")
    _aggregate_arguments(history)
    history.set_defaults(handler=history_command)

    state_at = actions.add_parser("state-at", help="the state of one aggregate at a moment")
    _aggregate_arguments(state_at)
    state_at.add_argument(
        "--at", required=True, type=_moment, help="ISO 8601 time with zone, e.g. 2026-08-01T00:00:00Z"
    )
    state_at.set_defaults(handler=state_at_command)

    fill = actions.add_parser("backfill", help="write events for rows that have none (legacy)")
    _database_arguments(fill)
    fill.add_argument("--service", required=True, help="the service whose aggregates to backfill")
    fill.add_argument(
        "--diff",
        action="store_true",
        help="also record rows changed or removed since the last backfill's snapshot",
    )
    fill.add_argument("--dry-run", action="store_true", help="report what would be written, write nothing")
    fill.set_defaults(handler=backfill_command)


def _database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=DEFAULT_CONFIG, type=Path, help="contract file")
    parser.add_argument("--database-url", help="the database to read (default: $FITGATE_DATABASE_URL)")


def _aggregate_arguments(parser: argparse.ArgumentParser) -> None:
    _database_arguments(parser)
    parser.add_argument("--kind", required=True, help="aggregate kind, e.g. Certificate")
    parser.add_argument("--id", required=True, type=_uuid, help="the aggregate's id (uuid)")
    parser.add_argument(
        "--tenant",
        type=_uuid,
        help="set the tenant for the read (needed when the role is subject to row-level security)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a uuid") from None


def _moment(text: str) -> datetime.datetime:
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-08-01T00:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone (add Z or an offset such as +02:00)")
    return moment


def _database_url(args: argparse.Namespace) -> str:
    url = database_url_from_environment(args.database_url)
    if url is None:
        raise UsageError(
            f"events {args.action}: no database: give --database-url or set FITGATE_DATABASE_URL"
        )
    return url


def _reader(args: argparse.Namespace) -> tuple[Config, str]:
    config = load_config(args.config)
    aggregate_of_kind(config, args.kind)  # an unknown kind fails before any connection
    return config, _database_url(args)


@contextlib.contextmanager
def _one_line_database_errors(action: str) -> Iterator[None]:
    """A statement the database refused (a privilege, a lock) ends the run with one line."""
    try:
        yield
    except psycopg.Error as exc:
        raise FitgateError(f"events {action}: {first_line(exc)}") from None


def history_command(args: argparse.Namespace) -> int:
    config, url = _reader(args)
    with _one_line_database_errors(args.action), connect(url) as conn:
        conn.read_only = True
        with conn.transaction():
            _set_tenant(conn, config, args.tenant)
            events = EventHistory(conn, config).history(args.kind, args.id)
    if args.format == "json":
        document = {
            "kind": args.kind,
            "aggregate_id": str(args.id),
            "events": [_event_json(e) for e in events],
        }
        _print_json(document)
    else:
        _print_history(args.kind, args.id, events)
    return 0 if events else 1


def state_at_command(args: argparse.Namespace) -> int:
    config, url = _reader(args)
    with _one_line_database_errors(args.action), connect(url) as conn:
        conn.read_only = True
        with conn.transaction():
            _set_tenant(conn, config, args.tenant)
            found = EventHistory(conn, config).state_at(args.kind, args.id, args.at)
    if args.format == "json":
        _print_json(_point_in_time_json(found))
    else:
        _print_point_in_time(found)
    return 0 if found.event is not None else 1


def backfill_command(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    report = backfill(_database_url(args), config, args.service, diff=args.diff, dry_run=args.dry_run)
    _print_backfill(report)
    return 0


def _set_tenant(conn: Any, config: Config, tenant: UUID | None) -> None:
    if tenant is not None:
        conn.execute("SELECT set_config(%s, %s, true)", (config.tenancy.setting, str(tenant)))


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat()


def _event_json(event: RecordedEvent) -> dict[str, Any]:
    return {
        "version": event.version,
        "event_name": event.event_name,
        "event_version": event.event_version,
        "stored_event_version": event.stored_event_version,
        "event_at": _utc(event.event_at),
        "performed_by": event.performed_by,
        "tenant_id": str(event.tenant_id),
        "id": str(event.id),
        "tx_id": event.tx_id,
        "payload": event.payload,
        "state": event.state,
    }


def _point_in_time_json(found: PointInTime) -> dict[str, Any]:
    return {
        "kind": found.kind,
        "aggregate_id": str(found.aggregate_id),
        "at": _utc(found.at),
        "existed": found.existed,
        "deleted": found.deleted,
        "state": found.event.state if found.event else None,
        "event": _event_json(found.event) if found.event else None,
    }


def _print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, default=_json_number) + "\n")


def _json_number(value: Any) -> Any:
    """Decimals from exact JSON parsing; written back as JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _compact(value: Any) -> str:
    return json.dumps(value, default=_json_number, ensure_ascii=False)


def _print_history(kind: str, aggregate_id: UUID, events: list[RecordedEvent]) -> None:
    if not events:
        print(f"no events for {kind} {aggregate_id}", file=sys.stderr)
        return
    rows = [("version", "event_at", "event", "by", "changes")]
    previous: Any = None
    for event in events:
        name = f"{event.event_name} v{event.event_version}"
        if event.upcast:
            name += f" (stored v{event.stored_event_version})"
        rows.append(
            (
                str(event.version),
                _utc(event.event_at),
                name,
                event.performed_by or "-",
                _changes(previous, event.state),
            )
        )
        previous = event.state
    print(f"{kind} {aggregate_id}: {len(events)} event(s)")
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4])


def _changes(before: Any, after: Any) -> str:
    if not isinstance(after, dict):
        return _compact(after)
    if not isinstance(before, dict):
        return ", ".join(f"{key}={_compact(value)}" for key, value in sorted(after.items()))
    changed = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            changed.append(f"{key} removed")
        elif key not in before:
            changed.append(f"{key}={_compact(after[key])}")
        elif before[key] != after[key]:
            changed.append(f"{key}: {_compact(before[key])} -> {_compact(after[key])}")
    return ", ".join(changed) or "(no change)"


def _print_point_in_time(found: PointInTime) -> None:
    event = found.event
    title = f"{found.kind} {found.aggregate_id} at {_utc(found.at)}"
    if event is None:
        print(f"{title}: no event at or before this time (it did not exist yet)")
        return
    origin = (
        f"version {event.version}, {event.event_name} v{event.event_version} at "
        f"{_utc(event.event_at)} by {event.performed_by or '-'}"
    )
    status = "ended by its deletion event" if found.deleted else "existed"
    print(f"{title}: {status} ({origin})")
    if isinstance(event.state, dict):
        width = max((len(key) for key in event.state), default=0)
        for key, value in sorted(event.state.items()):
            print(f"  {key.ljust(width)}  {_compact(value)}")
    else:
        print(f"  {_compact(event.state)}")


def _print_backfill(report: BackfillReport) -> None:
    step = "differences since the last snapshot" if report.diff else "snapshot of rows without events"
    verb = "would write" if report.dry_run else "wrote"
    print(
        f"backfill of {report.service} ({report.schema}), {step}: {verb} {report.events} event(s)"
        f" from snapshot {report.snapshot} taken at {_utc(report.snapshot_at)}"
    )
    if report.previous_snapshot is not None:
        print(f"  continuing from snapshot {report.previous_snapshot}")
    for written in report.written:
        print(f"  {written.table}: {written.events} {written.event_name}")
    for label in report.registered:
        print(f"  registered {label} in {report.schema}.event_types")
    for note in report.left_alone:
        print(f"  left alone: {note}")
    if report.dry_run:
        print("  dry run: nothing was written")
