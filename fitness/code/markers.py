"""What a file must contain to be worth parsing: the byte-level prefilter of the code scan.

Each rule names the aspects of a file it reads (imports, client calls, SQL,
tenant settings) and, for each, alternatives of lower-case byte strings that
any file with a finding of that aspect contains, all of one alternative at
once. Most files hold none and are never parsed. An aspect about imports is
judged on the file's import statements alone, so a schema name in SQL does not
make a file look like it imports that service.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Aspect:
    alternatives: tuple[tuple[bytes, ...], ...]
    in_import_statements: bool = False


def import_statements(lowered: bytes) -> bytes:
    """Every line holding ``import`` (with a parenthesised or continued statement's rest), joined.

    A superset of the import statements, found with ``bytes.find`` alone: cheap
    enough to run on every file.
    """
    parts: list[bytes] = []
    position = lowered.find(b"import")
    while position != -1:
        start = lowered.rfind(b"\n", 0, position) + 1
        end = _line_end(lowered, position)
        opening = lowered.rfind(b"(", start, end)
        if opening != -1 and lowered.find(b")", opening, end) == -1:
            closing = lowered.find(b")", end)
            end = len(lowered) if closing == -1 else closing + 1
        while end > start and lowered[end - 1 : end] == b"\\":
            end = _line_end(lowered, end + 1)
        parts.append(lowered[start:end])
        position = lowered.find(b"import", end)
    return b"\n".join(parts)


def _line_end(text: bytes, position: int) -> int:
    end = text.find(b"\n", position)
    return len(text) if end == -1 else end


def matched_aspects(lowered: bytes, aspects: Mapping[str, Aspect]) -> frozenset[str]:
    """The aspects whose markers ``lowered`` (a file's bytes in lower case) holds."""
    matched: set[str] = set()
    statements: bytes | None = None
    for name, aspect in aspects.items():
        if aspect.in_import_statements:
            if statements is None:
                statements = import_statements(lowered)
            if _holds(statements, aspect):
                matched.add(name)
        elif _holds(lowered, aspect):
            matched.add(name)
    return frozenset(matched)


def _holds(text: bytes, aspect: Aspect) -> bool:
    return any(all(marker in text for marker in alternative) for alternative in aspect.alternatives)
