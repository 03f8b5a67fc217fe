"""YAML documents whose every value remembers the line it came from.

Contract files must report errors by file, line and key, so parsing keeps the
node marks that plain ``yaml.safe_load`` throws away. Duplicate keys are
errors here, not "last one wins": a repeated key is usually a typo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from fitness.errors import ConfigError

Path = tuple[str | int, ...]

_MAX_DEPTH = 64


@dataclass(frozen=True)
class LocatedDocument:
    """Plain Python data from a YAML file, with the line of each key and item."""

    data: Any
    lines: dict[Path, int]
    source: str

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    def error(self, path: Path, problem: str) -> ConfigError:
        return ConfigError(self.source, self.line_of(path), dotted(path), problem)


def dotted(path: Path) -> str:
    """``("services", "auth", "reads", 0)`` as ``services.auth.reads[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not part.isprintable() or not part or part != part.strip():
            text += f"[{part!r}]"  # a key with line breaks must not break the one-line error
        else:
            text += f".{part}" if text else part
    return text


def load_yaml(text: str, source: str, first_line: int = 1) -> LocatedDocument:
    """Parse one YAML document; ``first_line`` offsets lines (front matter)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        data = None if node is None else _convert(loader, node, (), lines, first_line - 1, 0, source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark is not None else None
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ConfigError(source, line, "", f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, None, "", f"invalid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()
    return LocatedDocument(data, lines, source)


def _convert(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    offset: int,
    depth: int,
    source: str,
) -> Any:
    line = node.start_mark.line + 1 + offset
    lines.setdefault(path, line)
    if depth > _MAX_DEPTH:
        raise ConfigError(source, line, dotted(path), "nested too deeply (recursive alias?)")
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1 + offset
            key = _scalar(loader, key_node, path, key_line, source)
            if not isinstance(key, str):
                raise ConfigError(source, key_line, dotted(path), f"key {key!r} must be a string")
            if key in result:
                raise ConfigError(source, key_line, dotted((*path, key)), "duplicate key")
            lines[(*path, key)] = key_line
            result[key] = _convert(loader, value_node, (*path, key), lines, offset, depth + 1, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _convert(loader, item, (*path, index), lines, offset, depth + 1, source)
            for index, item in enumerate(node.value)
        ]
    return _scalar(loader, node, path, line, source)


def _scalar(loader: yaml.SafeLoader, node: yaml.Node, path: Path, line: int, source: str) -> Any:
    # PyYAML resolves 2024-13-01 as a timestamp, then datetime raises a bare ValueError.
    try:
        return loader.construct_object(node, deep=True)
    except ValueError as exc:
        raise ConfigError(source, line, dotted(path), f"{node.value!r} cannot be read: {exc}") from None
