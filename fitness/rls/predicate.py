"""Judging a policy expression: is it the fail-closed tenant predicate?

The rule, exactly. A policy expression (USING or WITH CHECK, as
``pg_get_expr`` prints it) is a **tenant predicate** when one of its top-level
AND-ed terms is an equality between the tenant column itself (not a cast of
it) and a **setting value**, in either order. Other AND-ed terms may be
anything: they only narrow. A setting value is, after removing any number of
scalar sub-select wrappers ``(SELECT ...)`` and casts to text:

- ``NULLIF(current_setting('<setting>', true), '')``, with or without a cast
  to uuid: no tenant and an empty tenant both become NULL, and ``= NULL``
  matches no row (the quiet form);
- ``NULLIF(current_setting('<setting>'), '')`` or ``current_setting('<setting>'[, ...])::uuid``:
  fail closed too, but by raising an error when the setting is missing or
  empty (the noisy forms; reported as a note, never as a violation);
- a call of a function without arguments whose body is a single expression
  that is one of the above (``RETURN ...``, ``SELECT ...``, ``BEGIN ATOMIC
  SELECT ...; END`` or PL/pgSQL ``BEGIN RETURN ...; END``). One level of
  wrapper is looked through; whether the wrapper may be used at all (not
  IMMUTABLE, not SECURITY DEFINER) is judged elsewhere.

The setting name compares case-insensitively, as PostgreSQL's do. Anything
else is not a tenant predicate: an OR at the top (it adds rows whatever the
tenant), COALESCE or a NULL test over the setting (a missing tenant turns into
a match), the raw setting text compared without NULLIF (an empty setting
matches empty tenant ids), ``IS NOT DISTINCT FROM``, a cast of the column, or
no reading of the setting at all. ``true`` is always true; ``false`` and
``NULL`` deny and are harmless.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from fitness.rls.expression import (
    BoolOp,
    Call,
    Cast,
    Column,
    Constant,
    ExpressionSyntaxError,
    Node,
    Opaque,
    Operator,
    ScalarSelect,
    Test,
    parse_expression,
    walk,
)

_UUID = {"uuid", "pg_catalog.uuid"}
_TEXT = {"text", "pg_catalog.text", "character varying", "varchar", "pg_catalog.varchar", "name"}


class Shape(StrEnum):
    TENANT = "tenant"  # the fail-closed tenant predicate (possibly narrowed further)
    DENIES = "denies"  # false or NULL: lets nothing through
    ALWAYS_TRUE = "always true"
    LOOSE = "loose"  # reads the setting, but not as the fail-closed equality
    UNRELATED = "unrelated"  # does not read the setting


@dataclass(frozen=True)
class Verdict:
    shape: Shape
    reason: str = ""  # completes "its USING clause ...": what is wrong, if anything
    noisy: bool = False  # a tenant predicate that raises an error instead of matching nothing

    @property
    def is_tenant(self) -> bool:
        return self.shape is Shape.TENANT


@dataclass(frozen=True)
class Wrapper:
    """A function without arguments that a policy calls, with the expression it returns."""

    signature: str  # schema.name()
    returns: Node | None  # None: its body is not a single readable expression


@dataclass(frozen=True)
class _Form:
    noisy: bool


class PredicateJudge:
    """Judges expressions against one tenant column and setting; remembers each text."""

    def __init__(self, column: str, setting: str, wrappers: Mapping[tuple[str, str], Wrapper]) -> None:
        self.column = column
        self.setting = setting.lower()
        self.wrappers = wrappers
        self._seen: dict[str, Verdict] = {}
        self._mentions = re.compile(r"current_setting\s*\(\s*'" + re.escape(setting) + "'", re.IGNORECASE)

    def judge(self, text: str) -> Verdict:
        verdict = self._seen.get(text)
        if verdict is None:
            verdict = self._seen[text] = self._judge_text(text)
        return verdict

    def _judge_text(self, text: str) -> Verdict:
        try:
            node = parse_expression(text)
        except ExpressionSyntaxError:
            if self._mentions.search(text):
                return Verdict(Shape.LOOSE, "reads the setting in a form fitgate cannot parse")
            return Verdict(Shape.UNRELATED, f"does not compare {self.column} with {self.setting}")
        return self._judge(node)

    def _judge(self, node: Node) -> Verdict:
        terms = node.items if isinstance(node, BoolOp) and node.op == "and" else (node,)
        forms = [form for term in terms if (form := self._tenant_comparison(term)) is not None]
        if forms:
            return Verdict(Shape.TENANT, noisy=all(form.noisy for form in forms))
        core = node
        while isinstance(core, Cast):
            core = core.operand
        if isinstance(core, Constant):
            if core.kind == "boolean" and core.value == "true":
                return Verdict(Shape.ALWAYS_TRUE, "is always true")
            if core.kind in ("boolean", "null"):
                return Verdict(Shape.DENIES)
        if not self._reads_setting(node):
            unreadable = self._unreadable_wrappers(node)
            if unreadable:
                return Verdict(
                    Shape.UNRELATED,
                    f"calls {', '.join(unreadable)}, whose body is not a single expression "
                    f"fitgate can check against {self.setting}",
                )
            if not any(isinstance(n, Column | Call | Opaque | ScalarSelect) for n in walk(node)):
                return Verdict(Shape.ALWAYS_TRUE, "is a constant that does not depend on the row")
            return Verdict(Shape.UNRELATED, f"does not compare {self.column} with {self.setting}")
        return Verdict(Shape.LOOSE, self._why_loose(node))

    # what a tenant comparison is
    def _tenant_comparison(self, node: Node) -> _Form | None:
        if not (isinstance(node, Operator) and node.symbol == "=" and node.left is not None):
            return None
        for column, value in ((node.left, node.right), (node.right, node.left)):
            if self._is_column(column):
                form = self._setting_value(value, through_wrappers=True)
                if form is not None:
                    return form
        return None

    def _is_column(self, node: Node) -> bool:
        return isinstance(node, Column) and node.parts[-1] == self.column and len(node.parts) <= 2

    def _setting_value(self, node: Node, *, through_wrappers: bool) -> _Form | None:
        node = _unwrap_select(node)
        if isinstance(node, Cast) and node.type_name in _UUID:
            inner = _strip_text_casts(_unwrap_select(node.operand))
            if (guard := self._nullif_guard(inner)) is not None:
                return guard
            if self._setting_read(inner) is not None:
                return _Form(noisy=True)
            node = inner
        elif (guard := self._nullif_guard(_strip_text_casts(node))) is not None:
            return guard
        if through_wrappers and isinstance(node, Call) and not node.args:
            wrapper = self.wrappers.get(_qualified(node.name))
            if wrapper is not None and wrapper.returns is not None:
                return self._setting_value(wrapper.returns, through_wrappers=False)
        return None

    def _nullif_guard(self, node: Node) -> _Form | None:
        if not (isinstance(node, Call) and _is_builtin(node, "nullif") and len(node.args) == 2):
            return None
        missing_ok = self._setting_read(_strip_text_casts(node.args[0]))
        empty = _strip_text_casts(node.args[1])
        if missing_ok is None or not (isinstance(empty, Constant) and empty.kind == "string"):
            return None
        return _Form(noisy=not missing_ok) if empty.value == "" else None

    def _setting_read(self, node: Node) -> bool | None:
        """For ``current_setting('<setting>'[, missing_ok])``: missing_ok; else None."""
        if not (isinstance(node, Call) and _is_builtin(node, "current_setting")):
            return None
        if not 1 <= len(node.args) <= 2:
            return None
        name = _strip_text_casts(node.args[0])
        if not (isinstance(name, Constant) and name.kind == "string"):
            return None
        if name.value.lower() != self.setting:
            return None
        if len(node.args) == 1:
            return False
        flag = node.args[1]
        return isinstance(flag, Constant) and flag.kind == "boolean" and flag.value == "true"

    # why a predicate that reads the setting is not the tenant predicate
    def _reads_setting(self, node: Node) -> bool:
        return any(self._setting_read(n) is not None or self._wraps_setting(n) for n in walk(node))

    def _wraps_setting(self, node: Node) -> bool:
        if not (isinstance(node, Call) and not node.args):
            return False
        wrapper = self.wrappers.get(_qualified(node.name))
        if wrapper is None or wrapper.returns is None:
            return False
        return any(self._setting_read(n) is not None for n in walk(wrapper.returns))

    def _unreadable_wrappers(self, node: Node) -> list[str]:
        found = []
        for n in walk(node):
            if isinstance(n, Call) and not n.args:
                wrapper = self.wrappers.get(_qualified(n.name))
                if wrapper is not None and wrapper.returns is None:
                    found.append(wrapper.signature)
        return sorted(set(found))

    def _why_loose(self, node: Node) -> str:
        setting = self.setting
        if isinstance(node, BoolOp) and node.op == "or":
            if any(self._tests_for_missing(item) for item in node.items):
                return (
                    "shows every tenant's rows when no tenant is set: it ORs the tenant "
                    f"comparison with a test for a missing {setting}"
                )
            return "ORs the tenant comparison with another condition, which lets other tenants' rows through"
        nodes = list(walk(node))
        if any(isinstance(n, Call) and _is_builtin(n, "coalesce") and self._reads_setting(n) for n in nodes):
            return f"uses COALESCE on {setting}, so a missing tenant becomes a value that matches rows"
        if any(self._tests_for_missing(n) for n in nodes):
            return f"tests {setting} for NULL or empty, which holds when no tenant is set"
        for n in nodes:
            if isinstance(n, Operator) and n.symbol == "is not distinct from" and self._reads_setting(n):
                return (
                    "compares with IS NOT DISTINCT FROM, so with no tenant set it matches rows "
                    f"whose {self.column} is NULL"
                )
            if isinstance(n, Operator) and n.symbol == "=" and n.left is not None:
                sides = (n.left, n.right)
                if any(self._reads_setting(s) for s in sides):
                    if any(isinstance(s, Cast) and self._is_column(s.operand) for s in sides):
                        return (
                            f"compares a cast of {self.column} instead of the column itself, "
                            f"which no index on {self.column} serves"
                        )
                    if any(self._is_column(s) for s in sides):
                        return (
                            f"compares {self.column} with the raw text of {setting}, so an empty "
                            f"setting matches rows whose {self.column} is empty"
                        )
        return (
            f"reads {setting} but is not `{self.column} = <setting>` AND-ed with other "
            "conditions, so it may show rows when no tenant is set"
        )

    def _tests_for_missing(self, node: Node) -> bool:
        """``<setting> IS NULL``, ``<setting> = ''`` and the like."""
        if isinstance(node, Test) and node.what == "null" and not node.negated:
            return self._reads_setting(node.operand)
        if isinstance(node, Operator) and node.symbol == "=" and node.left is not None:
            sides = (node.left, node.right)
            empty = any(
                isinstance(c := _strip_text_casts(s), Constant) and c.kind == "string" and c.value == ""
                for s in sides
            )
            return empty and any(self._reads_setting(s) for s in sides)
        return False


def canonical_predicate(column: str, setting: str) -> str:
    """The predicate fitgate recommends, as SQL (``column`` already quoted if needed)."""
    return f"{column} = (SELECT NULLIF(current_setting('{setting}', true), '')::uuid)"


def _unwrap_select(node: Node) -> Node:
    while isinstance(node, ScalarSelect):
        node = node.target
    return node


def _strip_text_casts(node: Node) -> Node:
    while isinstance(node, Cast) and node.type_name in _TEXT:
        node = node.operand
    return _unwrap_select(node)


def _is_builtin(node: Call, name: str) -> bool:
    return node.name in ((name,), ("pg_catalog", name))


def _qualified(name: tuple[str, ...]) -> tuple[str, str]:
    return ("", name[0]) if len(name) == 1 else (name[-2], name[-1])
