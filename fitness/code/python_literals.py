"""What a Python expression says as text, when the text is written in the file.

Static rules need the URL a client calls or the SQL a connection executes.
They are often literals, module constants (``BASE = "http://..."``) or
f-strings built from them; anything computed at run time stays unknown.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass

UNKNOWN_PART = "fitgate_unknown"  # stands for a computed part when SQL text is rebuilt


@dataclass(frozen=True)
class Prefix:
    """The leading text of an expression, and whether that is all of it."""

    text: str
    complete: bool


class ModuleConstants:
    """Module-level names assigned once, to a string or an integer known from the file."""

    def __init__(self, module: ast.Module) -> None:
        assignments: Counter[str] = Counter()
        values: dict[str, ast.expr] = {}
        for statement in module.body:
            for name, value in _assigned_names(statement):
                assignments[name] += 1
                values[name] = value
        self.strings: dict[str, str] = {}
        self.integers: dict[str, int] = {}
        for name, value in values.items():  # in file order: later constants may use earlier ones
            if assignments[name] != 1:
                continue
            if isinstance(value, ast.Constant) and type(value.value) is int:
                self.integers[name] = value.value
                continue
            prefix = self.prefix(value)
            if prefix.complete:
                self.strings[name] = prefix.text

    def prefix(self, node: ast.expr) -> Prefix:
        """The known leading text of ``node`` (empty and incomplete if nothing is known)."""
        if isinstance(node, ast.Constant):
            return Prefix(node.value, True) if isinstance(node.value, str) else Prefix("", False)
        if isinstance(node, ast.Name):
            value = self.strings.get(node.id)
            return Prefix(value, True) if value is not None else Prefix("", False)
        if isinstance(node, ast.JoinedStr):
            text = ""
            for part in node.values:
                known = self._formatted_part(part)
                if known is None:
                    return Prefix(text, False)
                text += known
            return Prefix(text, True)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.prefix(node.left)
            if not left.complete:
                return left
            right = self.prefix(node.right)
            return Prefix(left.text + right.text, right.complete)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
            left = self.prefix(node.left)
            return Prefix(left.text.split("%", 1)[0], False)
        if _is_format_call(node):
            assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            template = self.prefix(node.func.value)
            return Prefix(template.text.split("{", 1)[0], False)
        return Prefix("", False)

    def integer(self, node: ast.expr) -> int | None:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Name):
            return self.integers.get(node.id)
        return None

    def rendered(self, node: ast.expr) -> str | None:
        """The whole text of a string expression, computed parts replaced by a placeholder name.

        None when ``node`` is not built from string literals at all.
        """
        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            return self.strings.get(node.id)
        if isinstance(node, ast.JoinedStr):
            parts = [self._formatted_part(part) for part in node.values]
            return "".join(UNKNOWN_PART if part is None else part for part in parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.rendered(node.left), self.rendered(node.right)
            if left is None and right is None:
                return None
            return (left if left is not None else UNKNOWN_PART) + (
                right if right is not None else UNKNOWN_PART
            )
        return None

    def _formatted_part(self, part: ast.expr) -> str | None:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            return part.value
        if (
            isinstance(part, ast.FormattedValue)
            and part.conversion == -1
            and part.format_spec is None
            and isinstance(part.value, ast.Name)
        ):
            return self.strings.get(part.value.id)
        return None


def _assigned_names(statement: ast.stmt) -> list[tuple[str, ast.expr]]:
    if isinstance(statement, ast.Assign):
        return [(target.id, statement.value) for target in statement.targets if isinstance(target, ast.Name)]
    if (
        isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and statement.value is not None
    ):
        return [(statement.target.id, statement.value)]
    if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
        return [(statement.target.id, statement.value)]  # a second assignment: not a constant
    return []


def _is_format_call(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
