"""What a piece of SQL references and which settings it changes, read with sqlglot.

Each statement is parsed on its own (dialect postgres) so that one statement
sqlglot cannot parse is reported with its line while the others are still
read. Statements sqlglot keeps only as an opaque command (``CREATE POLICY``,
``ALTER ROLE``, ``GRANT``) and function bodies (``$$ ... $$``, PL/pgSQL
included) are read token by token with the same lexer: qualified names,
``SET`` and ``set_config`` calls. The result depends only on the text, so it
is cached by the text's hash.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterator
from typing import Any

from sqlglot import ErrorLevel, Token, TokenType, exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError

from fitness.code.sql_facts import ParseProblem, SqlAnalysis, TableReference, TransactionMark

_DIALECT = Postgres()
_NAME_TYPES = frozenset({TokenType.VAR, TokenType.IDENTIFIER})
_MODIFYING_COMMANDS = frozenset(
    {
        "ALTER",
        "CREATE",
        "DROP",
        "GRANT",
        "REVOKE",
        "COMMENT",
        "TRUNCATE",
        "REFRESH",
        "CLUSTER",
        "VACUUM",
        "REINDEX",
        "SECURITY",
        "LOCK",
        "REASSIGN",
    }
)
_TWO_WORD_COMMANDS = frozenset({"ALTER", "CREATE", "DROP", "COMMENT", "SECURITY"})
_SQLGLOT_TOKEN = re.compile(r"<Token token_type: [^,]*, text: ([^,]*),[^>]*>")
_SQLGLOT_CLASS = re.compile(r"<class '(?:\w+\.)*(\w+)'>")
_SQLGLOT_POSITION = re.compile(r"\.?\s*Line \d+, Col: \d+\.?")
_TRUE_WORDS = frozenset({"true", "on", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "off", "f", "no", "n", "0"})


class _CommandFallbackFilter(logging.Filter):
    """sqlglot warns on every statement it keeps as a command; fitgate reads those by tokens."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_CommandFallbackFilter())


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [i + 1 for i, c in enumerate(text) if c == "\n"]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) + 1


def analyse_sql(text: str) -> SqlAnalysis:
    """Tables referenced, settings changed and transaction statements of ``text``."""
    analysis = SqlAnalysis()
    lines = _Lines(text)
    try:
        tokens = _DIALECT.tokenize(text)
    except TokenError as exc:
        analysis.problems.append(ParseProblem(1, _first_line(exc)))
        return analysis
    parser = _DIALECT.parser(error_level=ErrorLevel.RAISE)
    for index, statement in enumerate(_statements(tokens)):
        analysis.statement = index
        _analyse_statement(statement, text, lines, parser, analysis)
    return analysis


def _statements(tokens: list[Token]) -> Iterator[list[Token]]:
    current: list[Token] = []
    for token in tokens:
        if token.token_type is TokenType.SEMICOLON:
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _analyse_statement(
    tokens: list[Token], text: str, lines: _Lines, parser: Any, analysis: SqlAnalysis
) -> None:
    first_line = lines.line_of(tokens[0].start)
    words = [t.text.upper() for t in tokens[:2]]
    if words[:2] == ["START", "TRANSACTION"] or words[0] in ("BEGIN", "END", "COMMIT", "ROLLBACK", "ABORT"):
        opens = words[0] in ("START", "BEGIN")
        analysis.transaction_marks.append(TransactionMark(first_line, opens, analysis.statement))
        return
    try:
        expressions = parser.parse(_without_view_options(tokens), text)
    except ParseError as exc:
        analysis.problems.append(ParseProblem(first_line, _first_line(exc)))
        return
    for expression in expressions:
        if expression is None:
            continue
        if isinstance(expression, exp.Command):
            _scan_tokens(tokens, text, lines, analysis, _command_name(tokens))
        else:
            _read_parsed(expression, tokens, text, lines, analysis)


def _without_view_options(tokens: list[Token]) -> list[Token]:
    """``CREATE VIEW v WITH (security_invoker) AS ...`` without the options sqlglot cannot parse
    (they name no table)."""
    words = [t.text.upper() for t in tokens[:6]]
    if not words or words[0] != "CREATE" or "VIEW" not in words:
        return tokens
    for index, token in enumerate(tokens):
        if token.token_type is TokenType.ALIAS:  # AS: the query starts, options are before it
            return tokens
        if (
            token.token_type is TokenType.WITH
            and index + 1 < len(tokens)
            and tokens[index + 1].token_type is TokenType.L_PAREN
        ):
            depth = 0
            for end in range(index + 1, len(tokens)):
                depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(tokens[end].token_type, 0)
                if depth == 0:
                    return tokens[:index] + tokens[end + 1 :]
            return tokens
    return tokens


def _read_parsed(
    expression: exp.Expression, tokens: list[Token], text: str, lines: _Lines, analysis: SqlAnalysis
) -> None:
    statement = expression.key.upper()
    first_line = lines.line_of(tokens[0].start)
    targets = {id(t) for t in _write_targets(expression)}
    for table in sorted(expression.find_all(exp.Table), key=_position):
        schema_identifier = table.args.get("db")
        if not isinstance(schema_identifier, exp.Identifier) or not isinstance(table.this, exp.Identifier):
            continue
        start = table.this.meta.get("start")
        line = lines.line_of(start) if isinstance(start, int) else first_line
        analysis.tables.append(
            TableReference(
                _identifier(schema_identifier),
                _identifier(table.this),
                line,
                statement,
                id(table) in targets,
            )
        )
    if isinstance(expression, exp.Set):
        for item in expression.expressions:
            _set_item(item, first_line, analysis)
    placeholders = _placeholder_keys(expression)
    for call in expression.find_all(exp.Anonymous):
        if str(call.this).lower() == "set_config" and len(call.expressions) == 3:
            _set_config(call.expressions, placeholders, first_line, analysis)
    for token in tokens:
        if token.token_type is TokenType.HEREDOC_STRING:
            _scan_body(token, text, lines, analysis)


def _position(table: exp.Table) -> int:
    start = table.this.meta.get("start") if isinstance(table.this, exp.Identifier) else None
    return start if isinstance(start, int) else -1


def _write_targets(expression: exp.Expression) -> list[exp.Table]:
    """The tables a statement writes or changes (not those it only reads)."""
    if isinstance(expression, exp.TruncateTable):
        return [t for t in expression.expressions if isinstance(t, exp.Table)]
    if isinstance(expression, exp.Grant | exp.Revoke):
        return list(expression.find_all(exp.Table))
    if not isinstance(
        expression, exp.Insert | exp.Update | exp.Delete | exp.Merge | exp.Create | exp.Drop | exp.Alter
    ):
        return []
    target = expression.this
    if isinstance(target, exp.Table):
        return [target]
    if target is None:
        return []
    return [t for t in target.find_all(exp.Table) if not t.find_ancestor(exp.Select, exp.Subquery)]


def _set_item(item: exp.Expression, line: int, analysis: SqlAnalysis) -> None:
    assignment = item.this
    if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
        return
    column = assignment.this
    setting = ".".join(part.name for part in column.parts).lower()
    if "." not in setting:
        return  # built-in settings (search_path, ...) are not custom tenant settings
    kind = str(item.args.get("kind") or "").upper()
    value = assignment.expression
    clears = (isinstance(value, exp.Var) and value.name.upper() == "DEFAULT") or (
        isinstance(value, exp.Literal) and value.is_string and value.this == ""
    )
    scope = "local" if kind == "LOCAL" else "session"
    analysis.add_setting(line, setting, None, scope, clears, "SET")


def _placeholder_keys(expression: exp.Expression) -> dict[int, str]:
    """Each placeholder's key: its position for ``%s``/``$n``, its name for ``%(n)s``/``:n``."""
    keys: dict[int, str] = {}
    ordinal = 0
    for node in expression.walk(bfs=False):
        if isinstance(node, exp.Placeholder):
            if node.this:
                keys[id(node)] = str(node.this)
            else:
                keys[id(node)] = str(ordinal)
                ordinal += 1
        elif isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal):
            keys[id(node)] = str(int(node.this.this) - 1)
    return keys


def _set_config(
    arguments: list[exp.Expression], placeholders: dict[int, str], line: int, analysis: SqlAnalysis
) -> None:
    name, value, local = arguments
    setting = name.this.lower() if isinstance(name, exp.Literal) and name.is_string else None
    parameter = placeholders.get(id(name))
    if setting is None and parameter is None:
        return
    clears = (isinstance(value, exp.Literal) and value.is_string and value.this == "") or isinstance(
        value, exp.Null
    )
    scope = "unknown"
    if isinstance(local, exp.Boolean):
        scope = "local" if local.this else "session"
    elif isinstance(local, exp.Literal):
        word = str(local.this).lower()
        scope = "local" if word in _TRUE_WORDS else "session" if word in _FALSE_WORDS else "unknown"
    analysis.add_setting(line, setting, parameter, scope, clears, "set_config")


def _scan_tokens(
    tokens: list[Token], text: str, lines: _Lines, analysis: SqlAnalysis, statement: str
) -> None:
    """Read a statement sqlglot keeps as an opaque command, token by token."""
    first = statement.split(" ", 1)[0]
    modifies = first in _MODIFYING_COMMANDS or (
        first == "COPY" and any(t.token_type is TokenType.FROM for t in tokens)
    )
    for schema, table, token in _qualified_names(tokens):
        analysis.tables.append(TableReference(schema, table, lines.line_of(token.start), statement, modifies))
    for index, token in enumerate(tokens):
        if token.token_type is TokenType.SET or token.text.upper() == "RESET":
            _set_in_tokens(tokens, index, lines, analysis, statement)
        elif token.text.lower() == "set_config":
            _set_config_in_tokens(tokens, index, lines, analysis)
        elif token.token_type is TokenType.HEREDOC_STRING or (
            token.token_type is TokenType.STRING and index > 0 and tokens[index - 1].text.upper() == "DO"
        ):
            _scan_body(token, text, lines, analysis)


def _qualified_names(tokens: list[Token]) -> Iterator[tuple[str, str, Token]]:
    """``schema.table`` pairs among the tokens; ``a.b.c`` gives ``b.c``; calls are skipped."""
    index = 0
    while index < len(tokens):
        if not _is_name(tokens[index]):
            index += 1
            continue
        start = index
        parts = [tokens[index]]
        index += 1
        while (
            index + 1 < len(tokens)
            and tokens[index].token_type is TokenType.DOT
            and _is_name(tokens[index + 1])
        ):
            parts.append(tokens[index + 1])
            index += 2
        followed_by_call = index < len(tokens) and tokens[index].token_type is TokenType.L_PAREN
        if len(parts) >= 2 and not followed_by_call and not _names_a_setting(tokens, start):
            schema, table = parts[-2], parts[-1]
            yield _token_name(schema), _token_name(table), table


def _names_a_setting(tokens: list[Token], start: int) -> bool:
    """Whether the name at ``start`` follows ``SET`` / ``RESET`` (``SET [LOCAL] app.tenant_id``)."""
    before = [t.text.upper() for t in tokens[max(0, start - 2) : start]]
    return bool(before) and (
        before[-1] in ("SET", "RESET") or (before[-1] in ("LOCAL", "SESSION") and before[:1] == ["SET"])
    )


def _is_name(token: Token) -> bool:
    return token.token_type in _NAME_TYPES or (
        token.text.replace("_", "a").isalnum() and not token.text[:1].isdigit()
    )


def _token_name(token: Token) -> str:
    return token.text if token.token_type is TokenType.IDENTIFIER else token.text.lower()


def _set_in_tokens(
    tokens: list[Token], index: int, lines: _Lines, analysis: SqlAnalysis, statement: str
) -> None:
    """``[ALTER ROLE r] SET [LOCAL|SESSION] a.b {=|TO} value`` and ``RESET a.b``."""
    position = index + 1
    scope = "session"
    if position < len(tokens) and tokens[position].text.upper() in ("LOCAL", "SESSION"):
        scope = tokens[position].text.lower()
        position += 1
    names = list(_qualified_names(tokens[position : position + 3]))
    if not names:
        return
    schema, name, _ = names[0]
    head = statement.split(" ")
    if head[0] == "ALTER" and len(head) > 1:
        scope = {"ROLE": "role", "USER": "role", "DATABASE": "database", "SYSTEM": "system"}.get(
            head[1], scope
        )
    is_reset = tokens[index].text.upper() == "RESET"
    value = tokens[position + 4] if position + 4 < len(tokens) else None
    clears = is_reset or (
        value is not None
        and (value.text.upper() == "DEFAULT" or (value.token_type is TokenType.STRING and value.text == ""))
    )
    how = statement if head[0] == "ALTER" else "SET"
    line = lines.line_of(tokens[index].start)
    analysis.add_setting(line, f"{schema}.{name}".lower(), None, scope, clears, how)


def _set_config_in_tokens(tokens: list[Token], index: int, lines: _Lines, analysis: SqlAnalysis) -> None:
    """``set_config('a.b', value, is_local)`` in a command or a function body."""
    if index + 1 >= len(tokens) or tokens[index + 1].token_type is not TokenType.L_PAREN:
        return
    arguments: list[list[Token]] = [[]]
    depth = 0
    for token in tokens[index + 2 :]:
        if token.token_type is TokenType.L_PAREN:
            depth += 1
        elif token.token_type is TokenType.R_PAREN:
            if depth == 0:
                break
            depth -= 1
        elif token.token_type is TokenType.COMMA and depth == 0:
            arguments.append([])
            continue
        arguments[-1].append(token)
    if len(arguments) != 3 or len(arguments[0]) != 1:
        return
    name = arguments[0][0]
    if name.token_type is not TokenType.STRING:
        return
    local = arguments[2]
    word = local[0].text.lower() if len(local) == 1 else ""
    scope = "local" if word in _TRUE_WORDS else "session" if word in _FALSE_WORDS else "unknown"
    value = arguments[1]
    clears = len(value) == 1 and (
        (value[0].token_type is TokenType.STRING and value[0].text == "") or value[0].text.upper() == "NULL"
    )
    line = lines.line_of(tokens[index].start)
    analysis.add_setting(line, name.text.lower(), None, scope, clears, "set_config")


def _scan_body(token: Token, text: str, lines: _Lines, analysis: SqlAnalysis) -> None:
    """A function or DO body: its own tokens, at their place in the outer text."""
    offset = text.find(token.text, token.start)
    if offset < 0:
        return
    try:
        body_tokens = _DIALECT.tokenize(token.text)
    except TokenError:
        return
    for body_token in body_tokens:
        body_token.start += offset
        body_token.end += offset
    for statement in _statements(body_tokens):
        _scan_tokens(statement, text, lines, analysis, _command_name(statement))


def _command_name(tokens: list[Token]) -> str:
    words = [t.text.upper() for t in tokens[:2]]
    if words[0] in _TWO_WORD_COMMANDS and len(words) > 1:
        return " ".join(words)
    return words[0]


def _identifier(identifier: exp.Identifier) -> str:
    return str(identifier.this) if identifier.quoted else str(identifier.this).lower()


def _first_line(exc: Exception) -> str:
    """The first line of sqlglot's message, without its own line and column (ours differ)."""
    message = str(exc).strip().splitlines()
    first = " ".join(message[0].split()) if message else exc.__class__.__name__
    first = _SQLGLOT_TOKEN.sub(r"'\1'", _SQLGLOT_CLASS.sub(r"\1", first))
    return _SQLGLOT_POSITION.sub("", first).rstrip(" .") or exc.__class__.__name__
