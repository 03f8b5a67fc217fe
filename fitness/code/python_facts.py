"""What one Python file says that the code rules judge, read from its syntax tree.

One pass over ``ast.parse`` output collects imports, network client calls
and the targets they name, addresses written as literals, SQL text with the
places it is executed (inside a transaction block or not), SQLAlchemy table
declarations, and connection options that set a setting for a whole session.
The facts do not depend on the contract file; the rules judge them against it.
"""

from __future__ import annotations

import ast
import bisect
import re
import string
from dataclasses import dataclass, field

from fitness.code.client_apis import (
    CLIENT_KINDS,
    CONNECTING_CALLS,
    REQUEST_OBJECTS,
    ClientKind,
    TargetArgument,
    TargetForm,
)
from fitness.code.literal_scanning import (
    AddressLiteral,
    StartupOption,
    addresses_in,
    session_settings_in,
)
from fitness.code.python_literals import UNKNOWN_PART, ModuleConstants
from fitness.service_addresses import Endpoint, parse_endpoint

EXECUTING_METHODS = frozenset(
    {"execute", "executemany", "exec_driver_sql", "executescript", "fetch", "fetchrow", "fetchval"}
)
# ``with <call>:`` opens a transaction when the call's name is one of these (psycopg
# ``conn.transaction()``, SQLAlchemy ``engine.begin()``, a helper named ``*_transaction``).
TRANSACTION_OPENER = re.compile(r"^(?:\w*_)?transaction$|^begin(?:_nested)?$|^atomic$")
SQL_LOOKING = re.compile(
    r"^\s*(?:--[^\n]*\n\s*)*(?:SELECT|WITH|INSERT|UPDATE|DELETE|MERGE|SET|RESET|ALTER|CREATE|DROP"
    r"|GRANT|REVOKE|TRUNCATE|COPY|CALL|DO|BEGIN|START\s+TRANSACTION|VALUES|TABLE|EXPLAIN)\b",
    re.IGNORECASE,
)
_SQL_FACTORIES = frozenset({"text", "SQL"})
_SQL_FACTORY_ROOTS = frozenset({"sqlalchemy", "psycopg", "psycopg2"})
_SQLALCHEMY_TABLES = frozenset({"Table", "table"})
_SQLALCHEMY_FOREIGN_KEYS = frozenset({"ForeignKey", "ForeignKeyConstraint"})


@dataclass(frozen=True)
class ImportFact:
    """An import as written: ``level`` leading dots, then ``module``; ``names`` from ``from``."""

    line: int
    module: str
    level: int
    names: tuple[str, ...]
    how: str  # "import", "from", "import_module", "__import__"
    anchor: str | None = None  # the ``package`` argument of ``importlib.import_module``


@dataclass(frozen=True)
class ClientUse:
    """A call that opens a network connection; ``targets`` None when not known statically."""

    line: int
    api: str
    targets: tuple[Endpoint, ...] | None
    unknown_because: str | None = None


@dataclass(frozen=True)
class Execution:
    """A place where SQL text is handed to a connection."""

    line: int
    in_transaction: bool


@dataclass
class SqlText:
    """SQL written in the file, with where it is executed and its literal parameters."""

    line: int
    text: str
    line_exact: bool  # newlines in ``text`` are newlines of the file from ``line`` on
    executed: bool  # passed to an execute method, ``text()`` or ``sql.SQL()``
    executions: list[Execution] = field(default_factory=list)
    positional_parameters: tuple[str | None, ...] = ()
    named_parameters: dict[str, str | None] = field(default_factory=dict)

    def file_line(self, line_in_text: int) -> int:
        return self.line + line_in_text - 1 if self.line_exact else self.line


@dataclass(frozen=True)
class TableDeclaration:
    """A table named in Python (SQLAlchemy ``Table``, ``__table_args__``, ``ForeignKey``)."""

    line: int
    schema: str
    table: str
    construct: str


@dataclass
class PythonFacts:
    imports: list[ImportFact] = field(default_factory=list)
    computed_imports: list[int] = field(default_factory=list)  # lines of dynamic imports of computed names
    client_uses: list[ClientUse] = field(default_factory=list)
    addresses: list[AddressLiteral] = field(default_factory=list)
    sql: list[SqlText] = field(default_factory=list)
    tables: list[TableDeclaration] = field(default_factory=list)
    startup_options: list[StartupOption] = field(default_factory=list)
    syntax_error: tuple[int, str] | None = None


def extract_python_facts(
    source: bytes, *, imports_only: bool = False, focus: tuple[bytes, ...] | None = None
) -> PythonFacts:
    """The facts of one Python file (parsed, never imported).

    ``imports_only`` reads the statements alone (no expression is visited): the
    import statements, not calls, strings or ``importlib`` calls. ``focus``
    visits only the statements and expressions spanning a line that holds one
    of its lower-case byte strings or a name bound to a client, SQL or
    SQLAlchemy object; the rest of the file is skipped. Both are several times
    cheaper than reading everything, for rules that need no more.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return PythonFacts(syntax_error=(exc.lineno or 1, exc.msg))
    except ValueError as exc:  # null bytes
        return PythonFacts(syntax_error=(1, str(exc)))
    outline = _Outline(tree)
    if imports_only:
        return PythonFacts(imports=outline.imports)
    lines = None if focus is None else _focus_lines(source.lower(), focus, outline)
    collector = _Collector(tree, outline, lines)
    collector.visit(tree)
    collector.facts.imports.sort(key=lambda fact: fact.line)
    return collector.facts


# The fields holding statement lists, per node type: all an outline walks.
_STATEMENT_LISTS: dict[type[ast.AST], tuple[str, ...]] = {
    ast.Module: ("body",),
    ast.FunctionDef: ("body",),
    ast.AsyncFunctionDef: ("body",),
    ast.ClassDef: ("body",),
    ast.If: ("body", "orelse"),
    ast.For: ("body", "orelse"),
    ast.AsyncFor: ("body", "orelse"),
    ast.While: ("body", "orelse"),
    ast.With: ("body",),
    ast.AsyncWith: ("body",),
    ast.Try: ("body", "handlers", "orelse", "finalbody"),
    ast.TryStar: ("body", "handlers", "orelse", "finalbody"),
    ast.ExceptHandler: ("body",),
    ast.Match: ("cases",),
    ast.match_case: ("body",),
}
_DOCUMENTED = frozenset({ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef})
_BINDING_STATEMENTS = frozenset({ast.Assign, ast.AnnAssign, ast.With, ast.AsyncWith})


class _Outline:
    """What the statements alone say: imports, import aliases, docstrings, name bindings.

    Walks statement lists only (bodies, else branches, handlers, match cases),
    never into expressions, so it costs little beyond parsing.
    """

    def __init__(self, tree: ast.Module) -> None:
        self.imports: list[ImportFact] = []
        self.aliases: dict[str, str] = {}  # local name -> the module or object it stands for
        self.docstrings: set[int] = set()
        self.bindings: list[tuple[ast.expr, ast.expr]] = []  # (target, value)
        stack: list[ast.AST] = [tree]
        while stack:
            node = stack.pop()
            kind = type(node)
            if kind is ast.Import:
                self._import(node)  # type: ignore[arg-type]
                continue
            if kind is ast.ImportFrom:
                self._import_from(node)  # type: ignore[arg-type]
                continue
            if kind in _BINDING_STATEMENTS:
                self._bindings(node)
            for name in _STATEMENT_LISTS.get(kind, ()):
                statements = getattr(node, name)
                if name == "body" and kind in _DOCUMENTED:
                    self._docstring(statements)
                stack.extend(statements)
        self.imports.sort(key=lambda fact: fact.line)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.imports.append(ImportFact(node.lineno, alias.name, 0, (), "import"))
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                head = alias.name.split(".")[0]
                self.aliases[head] = head

    def _import_from(self, node: ast.ImportFrom) -> None:
        names = tuple(alias.name for alias in node.names)
        self.imports.append(ImportFact(node.lineno, node.module or "", node.level, names, "from"))
        if node.level == 0 and node.module:
            for alias in node.names:
                if alias.name != "*":
                    self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _docstring(self, body: list[ast.stmt]) -> None:
        first = body[0] if body else None
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            self.docstrings.add(id(first.value))

    def _bindings(self, node: ast.AST) -> None:
        if isinstance(node, ast.Assign):
            self.bindings.extend((target, node.value) for target in node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.bindings.append((node.target, node.value))
        elif isinstance(node, ast.With | ast.AsyncWith):
            self.bindings.extend(
                (item.optional_vars, item.context_expr)
                for item in node.items
                if item.optional_vars is not None
            )


@dataclass(frozen=True)
class _Client:
    """A client object bound to a name: its kind, and its base target if it has one."""

    api: str
    kind: ClientKind
    line: int
    base: tuple[Endpoint, ...] | None
    has_base: bool


class _Collector(ast.NodeVisitor):
    def __init__(self, tree: ast.Module, outline: _Outline, lines: list[int] | None) -> None:
        self.lines = lines  # sorted lines worth visiting; None: all
        self.facts = PythonFacts(imports=list(outline.imports))
        self.constants = ModuleConstants(tree)
        self.aliases = outline.aliases
        self.docstrings = outline.docstrings
        self.sql_nodes: dict[int, SqlText] = {}  # every node of an expression taken as SQL
        self.client_nodes: set[int] = set()  # client constructors kept in a name or called at once
        self.transaction_depth = 0
        self.scope_depth = 0  # functions, lambdas and classes around the current node
        self.local_sql: dict[str, SqlText] = {}
        self.module_sql: dict[str, SqlText] = {}
        self.metadata_schemas: dict[str, str] = {}
        self.clients: dict[str, list[_Client]] = {}
        self.requests: dict[str, tuple[Endpoint, ...] | None] = {}
        self._bind_objects(outline.bindings)

    # -- names -------------------------------------------------------------

    def qualified(self, node: ast.expr) -> str | None:
        """``r.get`` as ``requests.get`` when ``import requests as r``; None if not a name."""
        return _qualified(node, self.aliases)

    def relevant(self, node: ast.AST) -> bool:
        """Whether ``node`` spans a line in focus (nodes without lines always are)."""
        if self.lines is None:
            return True
        start: int | None = getattr(node, "lineno", None)
        if start is None:
            return True
        end: int = getattr(node, "end_lineno", None) or start
        index = bisect.bisect_left(self.lines, start)
        return index < len(self.lines) and self.lines[index] <= end

    def generic_visit(self, node: ast.AST) -> None:
        for _, value in ast.iter_fields(node):
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST) and self.relevant(item):
                        self.visit(item)
            elif isinstance(value, ast.AST) and self.relevant(value):
                self.visit(value)

    # -- scopes ------------------------------------------------------------

    def _visit_scope(self, node: ast.AST) -> None:
        saved = self.transaction_depth, self.local_sql
        self.transaction_depth, self.local_sql = 0, {}
        self.scope_depth += 1
        self.generic_visit(node)
        self.scope_depth -= 1
        self.transaction_depth, self.local_sql = saved

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_scope(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_scope(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_scope(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._table_args(node)
        self._visit_scope(node)

    def _visit_with(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            if self.relevant(item):
                self.visit(item)
        opens = any(_opens_transaction(item.context_expr) for item in node.items)
        self.transaction_depth += opens
        for statement in node.body:
            if self.relevant(statement):
                self.visit(statement)
        self.transaction_depth -= opens

    def visit_With(self, node: ast.With) -> None:
        self._visit_with(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self._visit_with(node)

    # -- assignments: SQL held in names --------------------------------------

    def visit_Assign(self, node: ast.Assign) -> None:
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        self._assign(names, node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._assign([node.target.id] if isinstance(node.target, ast.Name) else [], node.value)

    def _assign(self, names: list[str], value: ast.expr) -> None:
        sql = self._sql_carrier(value, executed=False)
        if sql is not None:
            scope = self.local_sql if self.scope_depth else self.module_sql
            for name in names:
                scope[name] = sql
        self.visit(value)

    # -- calls ---------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        name = self.qualified(node.func)
        if name is not None:
            self._import_call(node, name)
            self._client_call(node, name)
            self._table_call(node, name)
            self._sql_factory_call(node, name)
        if isinstance(node.func, ast.Attribute):
            self._client_method_call(node, node.func)
            if node.func.attr in EXECUTING_METHODS and node.args:
                self._execution(node, node.args[0])
        self.generic_visit(node)

    def _import_call(self, node: ast.Call, name: str) -> None:
        if name in ("importlib.import_module", "__import__", "importlib.__import__"):
            first = _argument(node, 0, "name")
            prefix = self.constants.prefix(first) if first is not None else None
            if prefix is None or not prefix.complete:
                self.facts.computed_imports.append(node.lineno)
                return
            dotted = prefix.text
            level = len(dotted) - len(dotted.lstrip("."))
            if name == "importlib.import_module":
                anchor_node = _argument(node, 1, "package")
                anchor = self.constants.prefix(anchor_node) if anchor_node is not None else None
                self.facts.imports.append(
                    ImportFact(
                        node.lineno,
                        dotted.lstrip("."),
                        level,
                        (),
                        "import_module",
                        anchor.text if anchor is not None and anchor.complete else None,
                    )
                )
            else:
                from_list = _argument(node, 3, "fromlist")
                names: tuple[str, ...] = ()
                if isinstance(from_list, ast.List | ast.Tuple):
                    names = tuple(
                        e.value
                        for e in from_list.elts
                        if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    )
                level_node = _argument(node, 4, "level")
                dunder_level = self.constants.integer(level_node) if level_node is not None else 0
                self.facts.imports.append(
                    ImportFact(node.lineno, dotted, dunder_level or 0, names, "__import__")
                )

    def _client_call(self, node: ast.Call, name: str) -> None:
        argument = CONNECTING_CALLS.get(name)
        if argument is not None:
            self._use(node.lineno, name, self._targets(node, argument, None))
            return
        kind = CLIENT_KINDS.get(name)
        if kind is None:
            return
        if kind.base is not None and _argument_of(node, kind.base) is not None:
            self._use(node.lineno, name, self._targets(node, kind.base, None))
        elif id(node) not in self.client_nodes:
            self._use(
                node.lineno,
                name,
                (None, "the client is not kept in a name, so the requests it makes cannot be followed"),
            )

    def _client_method_call(self, node: ast.Call, func: ast.Attribute) -> None:
        client: _Client | None = None
        receiver = func.value
        if isinstance(receiver, ast.Call):
            receiver_name = self.qualified(receiver.func)
            kind = CLIENT_KINDS.get(receiver_name or "")
            if receiver_name is not None and kind is not None:
                client = self._client_from(receiver, receiver_name, kind)
        else:
            text = _dotted(receiver)
            bound = self.clients.get(text) if text is not None else None
            if bound:
                client = _binding_for(bound, node.lineno)
        if client is None:
            return
        argument = client.kind.methods.get(func.attr)
        if argument is None:
            return
        if client.has_base and client.base is None:
            return  # the unknown base was reported where the client was made
        targets = self._targets(node, argument, client.base)
        if targets[0] is None and client.has_base and targets[1] == _COMPUTED:
            return  # a computed path under a known base URL: assumed relative to it
        if targets[0] is not None and client.base is not None and targets[0] == client.base:
            return  # a relative path under the base URL reported where the client was made
        self._use(node.lineno, f"{client.api}.{func.attr}", targets)

    def _use(self, line: int, api: str, targets: tuple[tuple[Endpoint, ...] | None, str | None]) -> None:
        self.facts.client_uses.append(ClientUse(line, api, targets[0], targets[1]))

    def _table_call(self, node: ast.Call, name: str) -> None:
        last = name.rsplit(".", 1)[-1]
        if name.partition(".")[0] != "sqlalchemy":
            return
        if last in _SQLALCHEMY_TABLES:
            table = _string_argument(node, 0, "name", self.constants)
            schema = _string_argument(node, None, "schema", self.constants)
            if schema is None and len(node.args) > 1 and isinstance(node.args[1], ast.Name):
                schema = self.metadata_schemas.get(node.args[1].id)
            if table is not None and schema is not None:
                self.facts.tables.append(TableDeclaration(node.lineno, schema, table, last))
        elif last in _SQLALCHEMY_FOREIGN_KEYS:
            for target in _foreign_key_targets(node, last, self.constants):
                parts = target.split(".")
                if len(parts) >= 3:
                    self.facts.tables.append(TableDeclaration(node.lineno, parts[-3], parts[-2], last))

    def _table_args(self, node: ast.ClassDef) -> None:
        table_name: str | None = None
        args_statement: ast.Assign | None = None
        for statement in node.body:
            if not isinstance(statement, ast.Assign):
                continue
            names = [t.id for t in statement.targets if isinstance(t, ast.Name)]
            if "__tablename__" in names:
                prefix = self.constants.prefix(statement.value)
                table_name = prefix.text if prefix.complete else None
            if "__table_args__" in names:
                args_statement = statement
        if table_name is None or args_statement is None:
            return
        value = args_statement.value
        mappings = [value] if isinstance(value, ast.Dict) else []
        if isinstance(value, ast.Tuple) and value.elts and isinstance(value.elts[-1], ast.Dict):
            mappings.append(value.elts[-1])
        for mapping in mappings:
            assert isinstance(mapping, ast.Dict)
            for key, item in zip(mapping.keys, mapping.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "schema":
                    schema = self.constants.prefix(item)
                    if schema.complete:
                        self.facts.tables.append(
                            TableDeclaration(args_statement.lineno, schema.text, table_name, "__table_args__")
                        )

    def _sql_factory_call(self, node: ast.Call, name: str) -> None:
        root, _, _ = name.partition(".")
        last = name.rsplit(".", 1)[-1]
        if last in _SQL_FACTORIES and root in _SQL_FACTORY_ROOTS and id(node) not in self.sql_nodes:
            self._sql_carrier(node, executed=True)

    def _execution(self, node: ast.Call, carrier: ast.expr) -> None:
        sql: SqlText | None = None
        if isinstance(carrier, ast.Call) and len(carrier.args) == 1 and isinstance(carrier.args[0], ast.Name):
            factory = (self.qualified(carrier.func) or "").rsplit(".", 1)[-1]
            if factory in _SQL_FACTORIES:
                carrier = carrier.args[0]  # text(query) / sql.SQL(query): the SQL is in the name
        if isinstance(carrier, ast.Name):
            sql = self.local_sql.get(carrier.id) or self.module_sql.get(carrier.id)
            if sql is not None:
                sql.executed = True
        if sql is None:
            sql = self._sql_carrier(carrier, executed=True)
        if sql is None:
            return
        sql.executions.append(Execution(node.lineno, self.transaction_depth > 0))
        parameters = _argument(node, 1, "params") or _argument(node, 1, "parameters")
        if isinstance(parameters, ast.Tuple | ast.List):
            sql.positional_parameters = tuple(self._known(e) for e in parameters.elts)
        elif isinstance(parameters, ast.Dict):
            sql.named_parameters = {
                k.value: self._known(v)
                for k, v in zip(parameters.keys, parameters.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            }

    def _known(self, node: ast.expr) -> str | None:
        prefix = self.constants.prefix(node)
        return prefix.text if prefix.complete else None

    # -- SQL text ------------------------------------------------------------

    def _sql_carrier(self, node: ast.expr, *, executed: bool) -> SqlText | None:
        """Record the SQL that ``node`` holds, if it holds SQL; claim its nodes."""
        if id(node) in self.sql_nodes:
            return self.sql_nodes[id(node)]
        text: str | None
        source: ast.expr = node  # the expression the text is read from, for its lines
        if isinstance(node, ast.Call):
            name = self.qualified(node.func) or ""
            last = name.rsplit(".", 1)[-1]
            if _is_sql_format(node, self):
                assert isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Call)
                text = self._formatted_sql(node, node.func.value)
                executed = True
            elif last in _SQL_FACTORIES and name.partition(".")[0] in _SQL_FACTORY_ROOTS:
                first = _argument(node, 0, "text")
                text = self.constants.rendered(first) if first is not None else None
                source = first if first is not None else node
                executed = True
            else:
                return None
        else:
            text = self.constants.rendered(node)
        if text is None or (not executed and not SQL_LOOKING.match(text)):
            return None
        exact = (
            isinstance(source, ast.Constant)
            and source.end_lineno is not None
            and text.count("\n") == source.end_lineno - source.lineno
        )
        sql = SqlText(source.lineno, text, exact, executed)
        for child in ast.walk(node):
            self.sql_nodes[id(child)] = sql
        self.facts.sql.append(sql)
        return sql

    def _formatted_sql(self, node: ast.Call, template_call: ast.Call) -> str | None:
        template_node = _argument(template_call, 0, "obj")
        template = self.constants.rendered(template_node) if template_node is not None else None
        if template is None:
            return None
        rendered: list[str] = []
        position = 0
        try:
            fields = list(string.Formatter().parse(template))
        except ValueError:
            return template
        for literal, field_name, _spec, _conversion in fields:
            rendered.append(literal)
            if field_name is None:
                continue
            if field_name == "":
                value = node.args[position] if position < len(node.args) else None
                position += 1
            elif field_name.isdigit():
                index = int(field_name)
                value = node.args[index] if index < len(node.args) else None
            else:
                value = next((k.value for k in node.keywords if k.arg == field_name), None)
            rendered.append(self._composed(value))
        return "".join(rendered)

    def _composed(self, node: ast.expr | None) -> str:
        """A psycopg ``sql`` composable as SQL text."""
        if not isinstance(node, ast.Call):
            return UNKNOWN_PART
        last = (self.qualified(node.func) or "").rsplit(".", 1)[-1]
        parts = [self.constants.prefix(a) for a in node.args]
        if not all(p.complete for p in parts):
            return UNKNOWN_PART if last != "Literal" else "'fitgate_unknown'"
        texts = [p.text for p in parts]
        if last == "Identifier" and texts:
            return ".".join('"' + t.replace('"', '""') + '"' for t in texts)
        if last == "Literal":
            return "'" + texts[0].replace("'", "''") + "'" if texts else "NULL"
        if last == "Placeholder":
            return f"%({texts[0]})s" if texts else "%s"
        if last == "SQL" and texts:
            return texts[0]
        return UNKNOWN_PART

    # -- literals ------------------------------------------------------------

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring or a bare string used as a comment
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._sql_carrier(node, executed=False)
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if isinstance(node.op, ast.Add):
            self._sql_carrier(node, executed=False)
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if not isinstance(node.value, str) or id(node) in self.docstrings:
            return
        self._sql_carrier(node, executed=False)
        text = node.value
        exact = node.end_lineno is not None and text.count("\n") == node.end_lineno - node.lineno
        for offset, literal, endpoint in addresses_in(text):
            line = node.lineno + (text.count("\n", 0, offset) if exact else 0)
            self.facts.addresses.append(AddressLiteral(line, endpoint, literal))
        for setting in session_settings_in(text):
            self.facts.startup_options.append(StartupOption(node.lineno, setting))

    # -- targets -------------------------------------------------------------

    def _targets(
        self, node: ast.Call, argument: TargetArgument, base: tuple[Endpoint, ...] | None
    ) -> tuple[tuple[Endpoint, ...] | None, str | None]:
        value = _argument_of(node, argument)
        if value is None:
            return None, "the call names no target that fitgate can read"
        if argument.form is TargetForm.URL:
            return self._url_target(value, base)
        if argument.form is TargetForm.ADDRESS:
            return self._address_target(value)
        port_node = _argument(node, argument.port_position, argument.port_keyword)
        host = self.constants.prefix(value)
        if not host.complete:
            return None, _COMPUTED
        port = self.constants.integer(port_node) if port_node is not None else None
        endpoint = parse_endpoint(host.text if port is None else f"{host.text}:{port}")
        if endpoint is None:
            return None, _COMPUTED
        return (endpoint,), None

    def _url_target(
        self, value: ast.expr, base: tuple[Endpoint, ...] | None
    ) -> tuple[tuple[Endpoint, ...] | None, str | None]:
        if isinstance(value, ast.Call):
            request = REQUEST_OBJECTS.get(self.qualified(value.func) or "")
            if request is not None:
                inner = _argument_of(value, request)
                return self._url_target(inner, base) if inner is not None else (None, _COMPUTED)
        if isinstance(value, ast.Name) and value.id in self.requests:
            targets = self.requests[value.id]
            return (targets, None) if targets is not None else (None, _COMPUTED)
        prefix = self.constants.prefix(value)
        netloc = _netloc_prefix(prefix.text, prefix.complete)
        if netloc is not None:
            endpoint = parse_endpoint(netloc)
            return ((endpoint,), None) if endpoint is not None else (None, _COMPUTED)
        if prefix.text.startswith("/") or (prefix.complete and "://" not in prefix.text):
            if base is not None:
                return base, None
            return None, "the URL is relative and the client has no base URL fitgate can read"
        return None, _COMPUTED

    def _address_target(self, value: ast.expr) -> tuple[tuple[Endpoint, ...] | None, str | None]:
        if isinstance(value, ast.Tuple) and len(value.elts) >= 2:
            host = self.constants.prefix(value.elts[0])
            port = self.constants.integer(value.elts[1])
            if host.complete and port is not None:
                endpoint = parse_endpoint(f"{host.text}:{port}")
                if endpoint is not None:
                    return (endpoint,), None
            return None, _COMPUTED
        prefix = self.constants.prefix(value)
        if prefix.complete:
            endpoint = parse_endpoint(prefix.text)
            if endpoint is not None:
                return (endpoint,), None
        return None, _COMPUTED

    # -- bound objects ---------------------------------------------------------

    def _bind_objects(self, bindings: list[tuple[ast.expr, ast.expr]]) -> None:
        """Clients, request objects and metadata kept in names, wherever they are made."""
        for target, value in bindings:
            if not isinstance(value, ast.Call):
                continue
            name = self.qualified(value.func)
            text = _dotted(target)
            if name is None or text is None:
                continue
            kind = CLIENT_KINDS.get(name)
            if kind is not None:
                self.clients.setdefault(text, []).append(self._client_from(value, name, kind))
            elif name in REQUEST_OBJECTS:
                url = _argument_of(value, REQUEST_OBJECTS[name])
                targets = self._url_target(url, None)[0] if url is not None else None
                self.requests[text] = targets
            elif name.partition(".")[0] == "sqlalchemy" and name.endswith("MetaData"):
                schema = _string_argument(value, None, "schema", self.constants)
                if schema is not None:
                    self.metadata_schemas[text] = schema

    def _client_from(self, node: ast.Call, name: str, kind: ClientKind) -> _Client:
        self.client_nodes.add(id(node))
        base_node = _argument_of(node, kind.base) if kind.base is not None else None
        base = self._url_target(base_node, None)[0] if base_node is not None else None
        return _Client(name, kind, node.lineno, base, base_node is not None)


_COMPUTED = "the target is computed at run time"
# Modules whose names, once imported, mark the lines a focused reading visits.
_FOCUS_ROOTS = frozenset(
    {*(name.split(".")[0] for name in (*CONNECTING_CALLS, *CLIENT_KINDS, *REQUEST_OBJECTS))}
    | {"importlib", "sqlalchemy", "psycopg", "psycopg2"}
)


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    head = aliases.get(node.id, node.id)
    return ".".join([head, *reversed(parts)])


def _focus_lines(lowered: bytes, focus: tuple[bytes, ...], outline: _Outline) -> list[int]:
    """Lines holding a focus string, a name imported from a client or SQL library, or a name
    bound to an object made by one (``client = httpx.Client()``: every ``client.get`` line)."""
    words = set(focus)
    words.update(
        name.lower().encode()
        for name, target in outline.aliases.items()
        if target.split(".")[0] in _FOCUS_ROOTS
    )
    for target, value in outline.bindings:
        if isinstance(value, ast.Call):
            made_by = _qualified(value.func, outline.aliases) or ""
            bound = _dotted(target)
            if made_by.split(".")[0] in _FOCUS_ROOTS and bound is not None:
                words.add(bound.rsplit(".", 1)[-1].lower().encode())
    starts = [0]
    position = lowered.find(b"\n")
    while position != -1:
        starts.append(position + 1)
        position = lowered.find(b"\n", position + 1)
    lines: set[int] = set()
    for word in words:
        position = lowered.find(word)
        while position != -1:
            lines.add(bisect.bisect_right(starts, position))
            position = lowered.find(word, position + len(word))
    return sorted(lines)


def _binding_for(bound: list[_Client], line: int) -> _Client:
    before = [c for c in bound if c.line <= line]
    return max(before, key=lambda c: c.line) if before else bound[0]


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` as written (no alias resolved), or None if it is not a dotted name."""
    return _qualified(node, {})


def _opens_transaction(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return bool(TRANSACTION_OPENER.match(name))


def _is_sql_format(node: ast.Call, collector: _Collector) -> bool:
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "format"):
        return False
    inner = func.value
    if not isinstance(inner, ast.Call):
        return False
    name = collector.qualified(inner.func) or ""
    return name.rsplit(".", 1)[-1] == "SQL" and name.partition(".")[0] in _SQL_FACTORY_ROOTS


def _netloc_prefix(text: str, complete: bool) -> str | None:
    """``scheme://host:port`` from the start of a URL, if the host and port are fully known."""
    scheme_end = text.find("://")
    if scheme_end <= 0:
        return None
    rest = text[scheme_end + 3 :]
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=-1)
    if end < 0 and not complete:
        return None
    return text[: scheme_end + 3] + (rest if end < 0 else rest[:end])


def _argument(node: ast.Call, position: int | None, keyword: str | None) -> ast.expr | None:
    if keyword is not None:
        for item in node.keywords:
            if item.arg == keyword:
                return item.value
    if position is None:
        return None
    positional = [a for a in node.args if not isinstance(a, ast.Starred)]
    if position < 0:
        return positional[position] if len(positional) >= -position else None
    return positional[position] if position < len(positional) else None


def _argument_of(node: ast.Call, argument: TargetArgument) -> ast.expr | None:
    return _argument(node, argument.position, argument.keyword)


def _string_argument(
    node: ast.Call, position: int | None, keyword: str, constants: ModuleConstants
) -> str | None:
    value = _argument(node, position, keyword)
    if value is None:
        return None
    prefix = constants.prefix(value)
    return prefix.text if prefix.complete else None


def _foreign_key_targets(node: ast.Call, construct: str, constants: ModuleConstants) -> list[str]:
    if construct == "ForeignKey":
        target = _string_argument(node, 0, "column", constants)
        return [target] if target is not None else []
    columns = _argument(node, 1, "refcolumns")
    if not isinstance(columns, ast.List | ast.Tuple):
        return []
    targets = []
    for element in columns.elts:
        prefix = constants.prefix(element)
        if prefix.complete:
            targets.append(prefix.text)
    return targets
