"""Reading ADR files: front matter validated, errors located by file and line."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

from fitness.adr.record import STATUSES, Adr
from fitness.errors import ConfigError
from fitness.located_yaml import LocatedDocument, load_yaml

_ID = re.compile(r"^ADR-\d{4}$")
_FITNESS_ID = re.compile(r"^[a-z][a-z0-9-]*$")
_REQUIRED = ("id", "title", "status", "date", "attributes", "enforced_by")
_OPTIONAL = ("superseded_by",)


def read_adrs(folder: Path) -> list[Adr]:
    """Every ``*.md`` ADR in ``folder`` (sorted by id); a missing folder holds none."""
    if not folder.is_dir():
        return []
    adrs = [read_adr(path) for path in sorted(folder.glob("*.md")) if path.name != "README.md"]
    seen: dict[str, Path] = {}
    for adr in sorted(adrs, key=lambda a: a.path.name):
        if adr.id in seen:
            raise ConfigError(
                str(adr.path), adr.line_of("id"), "id", f"{adr.id} is also the id of {seen[adr.id]}"
            )
        seen[adr.id] = adr.path
    return sorted(adrs, key=lambda a: a.id)


def read_adr(path: Path) -> Adr:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, None, "", f"cannot read: {exc.__class__.__name__}") from None
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise ConfigError(source, 1, "", "no YAML front matter (the file must start with ---)")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise ConfigError(source, 1, "", "front matter is not closed by a --- line") from None
    doc = load_yaml("\n".join(lines[1:end]), source, first_line=2)
    if not isinstance(doc.data, dict):
        raise ConfigError(source, 2, "", "front matter must be a mapping of keys")
    return _build(doc, doc.data, path, "\n".join(lines[end + 1 :]).strip() + "\n")


def _build(doc: LocatedDocument, data: dict[str, Any], path: Path, body: str) -> Adr:
    for key in data:
        if key not in _REQUIRED and key not in _OPTIONAL:
            raise doc.error((key,), "unknown key")
    for key in _REQUIRED:
        if key not in data:
            raise doc.error((key,), "required")
    adr_id = _text(doc, data, "id")
    if not _ID.match(adr_id):
        raise doc.error(("id",), f"{adr_id!r} must look like ADR-0001")
    status = _text(doc, data, "status")
    if status not in STATUSES:
        raise doc.error(("status",), f"{status!r} must be one of {', '.join(STATUSES)}")
    date = data["date"]
    if isinstance(date, str):
        try:
            date = datetime.date.fromisoformat(date)
        except ValueError:
            raise doc.error(("date",), f"{date!r} is not a date (YYYY-MM-DD)") from None
    if not isinstance(date, datetime.date) or isinstance(date, datetime.datetime):
        raise doc.error(("date",), "must be a date (YYYY-MM-DD)")
    superseded_by = data.get("superseded_by")
    if superseded_by is not None and (not isinstance(superseded_by, str) or not _ID.match(superseded_by)):
        raise doc.error(("superseded_by",), "must be an ADR id such as ADR-0007")
    enforced_by = _names(doc, data, "enforced_by")
    for index, fitness_id in enumerate(enforced_by):
        if not _FITNESS_ID.match(fitness_id):
            raise doc.error(("enforced_by", index), f"{fitness_id!r} is not a fitness id")
    return Adr(
        id=adr_id,
        title=_text(doc, data, "title"),
        status=status,
        date=date,
        attributes=_names(doc, data, "attributes"),
        enforced_by=enforced_by,
        path=path,
        body=body,
        superseded_by=superseded_by,
        key_lines={str(path[0]): line for path, line in doc.lines.items() if len(path) == 1},
    )


def _text(doc: LocatedDocument, data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value.strip():
        raise doc.error((key,), "must be a non-empty string")
    return value.strip()


def _names(doc: LocatedDocument, data: dict[str, Any], key: str) -> tuple[str, ...]:
    value = data[key]
    if not isinstance(value, list):
        raise doc.error((key,), "must be a list")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise doc.error((key, index), "must be a non-empty string")
    return tuple(item.strip() for item in value)
