"""Reading SQL expressions as PostgreSQL prints them, into a small syntax tree.

Policy predicates come back from the catalog as text (``pg_get_expr``), fully
parenthesised and with every constant cast (``'app.tenant_id'::text``); the
bodies of wrapper functions come as their author wrote them. Both are read
here into a tree that keeps only what judging a tenant predicate needs:
boolean structure, comparisons, casts, calls, column references, constants
and scalar sub-selects. Anything else (a sub-query with FROM, CASE, ...) is
kept as :class:`Opaque`, with the expressions found inside it as children, so
nothing is silently dropped. Text that is not an expression raises
:class:`ExpressionSyntaxError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


class ExpressionSyntaxError(ValueError):
    """The text is not an expression this reader understands."""


@dataclass(frozen=True)
class Column:
    parts: tuple[str, ...]  # ("tenant_id",) or ("t", "tenant_id")


@dataclass(frozen=True)
class Constant:
    kind: str  # "string", "number", "boolean", "null", "parameter"
    value: str  # unquoted text; booleans as "true"/"false"


@dataclass(frozen=True)
class Cast:
    operand: Node
    type_name: str  # lower-case, e.g. "uuid", "text", "pg_catalog.uuid", "character varying"


@dataclass(frozen=True)
class Call:
    name: tuple[str, ...]  # ("current_setting",) or ("app", "tenant")
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Operator:
    symbol: str  # "=", "<>", "~~", "like", "in", "is distinct from", "-" (prefix) ...
    left: Node | None  # None for a prefix operator
    right: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Test:
    """``x IS [NOT] NULL | TRUE | FALSE | UNKNOWN``."""

    operand: Node
    what: str  # "null", "true", "false", "unknown"
    negated: bool


@dataclass(frozen=True)
class ScalarSelect:
    """``(SELECT expr [AS alias])``: no FROM, no WHERE, one value."""

    target: Node


@dataclass(frozen=True)
class Opaque:
    """A construct judged only through what it contains (sub-query, CASE, ...)."""

    text: str
    children: tuple[Node, ...]


Node = Column | Constant | Cast | Call | Operator | BoolOp | Not | Test | ScalarSelect | Opaque


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``."""
    if isinstance(node, Cast):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, Operator):
        return (node.right,) if node.left is None else (node.left, node.right)
    if isinstance(node, BoolOp):
        return node.items
    if isinstance(node, Not | Test):
        return (node.operand,)
    if isinstance(node, ScalarSelect):
        return (node.target,)
    if isinstance(node, Opaque):
        return node.children
    return ()


def walk(node: Node) -> Iterator[Node]:
    """``node`` and every expression below it."""
    yield node
    for child in children(node):
        yield from walk(child)


# --- tokens -------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<estring>[Ee]'(?:[^'\\]|\\.|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<dollar>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)
  | (?P<param>\$\d+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<quoted>"(?:[^"]|"")*")
  | (?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
  | (?P<cast>::)
  | (?P<punct>[(),\[\].;:])
  | (?P<op>(?:[+*<>=~!@\#%^&|`?]|-(?!-)|/(?!\*))+)  # -- and /* start comments, even mid-operator
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "quoted", "string", "number", "param", "op", "punct", "cast", "end"
    value: str  # words lower-cased; strings and quoted names unquoted
    start: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.value in words

    def is_punct(self, symbol: str) -> bool:
        return self.kind in ("punct", "cast") and self.value == symbol


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionSyntaxError(f"unexpected character {text[position]!r}")
        kind = match.lastgroup
        raw = match.group()
        if kind == "dollar":
            end = text.find(raw, match.end())
            if end < 0:
                raise ExpressionSyntaxError("unterminated dollar-quoted string")
            tokens.append(Token("string", text[match.end() : end], position))
            position = end + len(raw)
            continue
        position = match.end()
        if kind == "space":
            continue
        if kind == "string":
            tokens.append(Token("string", raw[1:-1].replace("''", "'"), match.start()))
        elif kind == "estring":
            body = raw[2:-1].replace("''", "'")
            tokens.append(Token("string", re.sub(r"\\(.)", r"\1", body), match.start()))
        elif kind == "quoted":
            tokens.append(Token("quoted", raw[1:-1].replace('""', '"'), match.start()))
        elif kind == "word":
            tokens.append(Token("word", raw.lower(), match.start()))
        elif kind == "op":
            tokens.extend(_split_operator(raw, match.start()))
        else:
            tokens.append(Token(str(kind), raw, match.start()))
    tokens.append(Token("end", "", len(text)))
    return tokens


def _split_operator(raw: str, start: int) -> list[Token]:
    """PostgreSQL's rule: ``=-`` is two operators (a trailing + or - is split off
    unless the operator holds one of ``~!@#%^&|`?``)."""
    symbol = raw
    while len(symbol) > 1 and symbol[-1] in "+-" and not any(c in symbol for c in "~!@#%^&|`?"):
        symbol = symbol[:-1]
    tokens = [Token("op", symbol, start)]
    if symbol != raw:
        tokens.extend(_split_operator(raw[len(symbol) :], start + len(symbol)))
    return tokens


# --- parser -------------------------------------------------------------------------

_COMPARISON = {"=", "<>", "!=", "<", ">", "<=", ">="}
_TYPE_WORDS = {"varying", "precision", "with", "without", "time", "zone"}
_SUBQUERY_START = {"select", "with", "values", "table"}
_TESTS = {"null", "true", "false", "unknown"}
_RESERVED = {
    "and", "or", "not", "is", "in", "like", "ilike", "similar", "between", "then", "else",
    "end", "when", "as", "from", "where", "group", "order", "having", "limit", "offset",
    "union", "except", "intersect", "isnull", "notnull", "collate", "at", "escape", "select",
}  # fmt: skip


def parse_expression(text: str) -> Node:
    """The syntax tree of one SQL expression."""
    parser = _Parser(text, tokenize(text))
    node = parser.expression()
    parser.expect_end()
    return node


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0

    # helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.position]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.position + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.token
        if token.kind != "end":
            self.position += 1
        return token

    def accept_word(self, *words: str) -> bool:
        if self.token.is_word(*words):
            self.advance()
            return True
        return False

    def expect_word(self, word: str) -> None:
        if not self.accept_word(word):
            raise self.error(f"expected {word.upper()}")

    def expect_punct(self, symbol: str) -> None:
        if not self.token.is_punct(symbol):
            raise self.error(f"expected {symbol!r}")
        self.advance()

    def expect_end(self) -> None:
        if self.token.kind != "end":
            raise self.error("unexpected text after the expression")

    def error(self, problem: str) -> ExpressionSyntaxError:
        return ExpressionSyntaxError(f"{problem} at offset {self.token.start}")

    # grammar, loosest binding first (PostgreSQL's operator precedence)
    def expression(self) -> Node:
        return self.disjunction()

    def disjunction(self) -> Node:
        items = [self.conjunction()]
        while self.accept_word("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", _flatten("or", items))

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.accept_word("and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else BoolOp("and", _flatten("and", items))

    def negation(self) -> Node:
        if self.accept_word("not"):
            return Not(self.negation())
        return self.is_test()

    def is_test(self) -> Node:
        node = self.comparison()
        while True:
            if self.accept_word("isnull"):
                node = Test(node, "null", negated=False)
            elif self.accept_word("notnull"):
                node = Test(node, "null", negated=True)
            elif self.accept_word("is"):
                negated = self.accept_word("not")
                if self.token.is_word(*_TESTS):
                    node = Test(node, self.advance().value, negated)
                elif self.accept_word("distinct"):
                    self.expect_word("from")
                    symbol = "is not distinct from" if negated else "is distinct from"
                    node = Operator(symbol, node, self.comparison())
                else:
                    raise self.error("unsupported IS test")
            else:
                return node

    def comparison(self) -> Node:
        node = self.pattern_match()
        if self.token.kind == "op" and self.token.value in _COMPARISON:
            symbol = self.advance().value
            node = Operator("<>" if symbol == "!=" else symbol, node, self.pattern_match())
        return node

    def pattern_match(self) -> Node:
        node = self.other_operator()
        negated = self.token.is_word("not") and self.peek().is_word(
            "like", "ilike", "similar", "between", "in"
        )
        if negated:
            self.advance()
        prefix = "not " if negated else ""
        if self.accept_word("like", "ilike"):
            keyword = self.tokens[self.position - 1].value
            node = Operator(prefix + keyword, node, self.other_operator())
            if self.accept_word("escape"):
                self.other_operator()
        elif self.accept_word("similar"):
            self.expect_word("to")
            node = Operator(prefix + "similar to", node, self.other_operator())
        elif self.accept_word("between"):
            self.accept_word("symmetric", "asymmetric")
            low = self.other_operator()
            self.expect_word("and")
            high = self.other_operator()
            node = Operator(prefix + "between", node, Opaque("between", (low, high)))
        elif self.accept_word("in"):
            node = Operator(prefix + "in", node, self.in_list())
        elif negated:
            raise self.error("NOT without a following operator")
        return node

    def in_list(self) -> Node:
        start = self.token.start
        self.expect_punct("(")
        if self.token.is_word(*_SUBQUERY_START):
            return self.subquery_body(start)
        items = [self.expression()]
        while self.token.is_punct(","):
            self.advance()
            items.append(self.expression())
        self.expect_punct(")")
        return Opaque(self.text[start : self.tokens[self.position - 1].start + 1], tuple(items))

    def other_operator(self) -> Node:
        node = self.prefix_operator()
        while self.token.kind == "op" and self.token.value not in _COMPARISON:
            symbol = self.advance().value
            node = Operator(symbol, node, self.prefix_operator())
        while self.accept_word("at"):  # AT TIME ZONE
            self.expect_word("time")
            self.expect_word("zone")
            node = Operator("at time zone", node, self.prefix_operator())
        return node

    def prefix_operator(self) -> Node:
        if self.token.kind == "op" and self.token.value not in _COMPARISON:
            symbol = self.advance().value
            return Operator(symbol, None, self.prefix_operator())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.token.kind == "cast":
                self.advance()
                node = Cast(node, self.type_name())
            elif self.token.is_punct("["):
                start = self.token.start
                self.skip_balanced("[", "]")
                node = Opaque(self.text[start : self.tokens[self.position - 1].start + 1], (node,))
            elif self.accept_word("collate"):
                self.name_parts()
            elif self.token.is_punct(".") and self.peek().kind in ("word", "quoted"):
                self.advance()  # field selection from a composite: (row).field
                self.advance()
            else:
                return node

    def type_name(self) -> str:
        parts = self.name_parts()
        words = [".".join(parts)]
        while self.token.kind == "word" and self.token.value in _TYPE_WORDS:
            words.append(self.advance().value)
        if self.token.is_punct("("):  # typmod: numeric(10,2), varchar(20)
            self.skip_balanced("(", ")")
        while self.token.is_punct("["):
            self.skip_balanced("[", "]")
            words[-1] += "[]"
        return " ".join(words)

    def name_parts(self) -> tuple[str, ...]:
        if self.token.kind not in ("word", "quoted"):
            raise self.error("expected a name")
        parts = [self.advance().value]
        while self.token.is_punct(".") and self.peek().kind in ("word", "quoted"):
            self.advance()
            parts.append(self.advance().value)
        return tuple(parts)

    def primary(self) -> Node:
        token = self.token
        if token.kind == "string":
            self.advance()
            return Constant("string", token.value)
        if token.kind == "number":
            self.advance()
            return Constant("number", token.value)
        if token.kind == "param":
            self.advance()
            return Constant("parameter", token.value)
        if token.is_punct("("):
            return self.parenthesised()
        if token.is_word("true", "false"):
            self.advance()
            return Constant("boolean", token.value)
        if token.is_word("null"):
            self.advance()
            return Constant("null", "null")
        if token.is_word("cast") and self.peek().is_punct("("):
            self.advance()
            self.advance()
            operand = self.expression()
            self.expect_word("as")
            type_name = self.type_name()
            self.expect_punct(")")
            return Cast(operand, type_name)
        if token.is_word("case"):
            return self.case()
        if token.is_word("array") and self.peek().is_punct("["):
            self.advance()
            return Call(("array",), self.bracket_list())
        if token.is_word("exists", "array") and self.peek().is_punct("("):
            self.advance()
            start = self.token.start
            self.expect_punct("(")
            return Call((token.value,), (self.subquery_body(start),))
        if token.kind == "word" and token.value in _RESERVED:
            raise self.error(f"unexpected {token.value.upper()}")
        if token.kind == "word" and self.peek().kind == "string":  # typed literal: interval '1 day'
            self.advance()
            return Cast(Constant("string", self.advance().value), token.value)
        if token.kind in ("word", "quoted"):
            parts = self.name_parts()
            if self.token.is_punct("("):
                return self.call(parts)
            return Column(parts)
        raise self.error("expected an expression")

    def parenthesised(self) -> Node:
        start = self.token.start
        self.advance()
        if self.token.is_word(*_SUBQUERY_START):
            return self.subquery_body(start)
        node = self.expression()
        if self.token.is_punct(","):  # a row constructor: (a, b)
            items = [node]
            while self.token.is_punct(","):
                self.advance()
                items.append(self.expression())
            self.expect_punct(")")
            return Call(("row",), tuple(items))
        self.expect_punct(")")
        return node

    def subquery_body(self, start: int) -> Node:
        """After ``(`` at ``start``: a scalar ``SELECT expr [AS alias]`` or an opaque sub-query."""
        mark = self.position
        if self.accept_word("select"):
            try:
                target = self.expression()
                self.skip_alias()
                if self.token.is_punct(")"):
                    self.advance()
                    return ScalarSelect(target)
            except ExpressionSyntaxError:
                pass
        self.position = mark
        found = self.skip_to_close()
        text = self.text[start : self.tokens[self.position - 1].start + 1]
        return Opaque(text, found)

    def skip_alias(self) -> None:
        """``AS name`` or a bare name after a select target."""
        explicit = self.accept_word("as")
        token = self.token
        bare = token.kind == "quoted" or (token.kind == "word" and token.value not in _RESERVED)
        if explicit or bare:
            self.advance()

    def skip_to_close(self) -> tuple[Node, ...]:
        """Skip to the ``)`` closing an already-opened parenthesis; keep the calls seen."""
        found: list[Node] = []
        depth = 1
        while depth:
            token = self.token
            if token.kind == "end":
                raise self.error("unbalanced parentheses")
            if token.kind in ("word", "quoted") and self.peek().is_punct("("):
                mark = self.position
                try:
                    found.append(self.primary())
                    continue
                except ExpressionSyntaxError:
                    self.position = mark
            if token.is_punct("("):
                depth += 1
            elif token.is_punct(")"):
                depth -= 1
            self.advance()
        return tuple(found)

    def skip_balanced(self, opening: str, closing: str) -> None:
        self.expect_punct(opening)
        depth = 1
        while depth:
            token = self.advance()
            if token.kind == "end":
                raise self.error(f"unbalanced {opening}")
            if token.is_punct(opening):
                depth += 1
            elif token.is_punct(closing):
                depth -= 1

    def call(self, name: tuple[str, ...]) -> Node:
        start = self.token.start
        self.advance()
        if self.token.is_punct(")"):
            self.advance()
            return Call(name, ())
        if self.token.is_word(*_SUBQUERY_START):
            return Call(name, (self.subquery_body(start),))
        mark = self.position
        try:
            self.accept_word("distinct", "variadic")
            args = [self.expression()]
            while self.token.is_punct(","):
                self.advance()
                args.append(self.expression())
            self.expect_punct(")")
            return Call(name, tuple(args))
        except ExpressionSyntaxError:
            # special argument syntax: EXTRACT(x FROM y), POSITION(a IN b), TRIM(BOTH ...)
            self.position = mark
            found = self.skip_to_close()
            return Call(name, (Opaque(self.text[start : self.tokens[self.position - 1].start + 1], found),))

    def bracket_list(self) -> tuple[Node, ...]:
        self.expect_punct("[")
        items: list[Node] = []
        while not self.token.is_punct("]"):
            items.append(
                Call(("array",), self.bracket_list()) if self.token.is_punct("[") else self.expression()
            )
            if not self.token.is_punct("]"):
                self.expect_punct(",")
        self.advance()
        return tuple(items)

    def case(self) -> Node:
        start = self.token.start
        self.advance()
        parts: list[Node] = []
        if not self.token.is_word("when"):
            parts.append(self.expression())
        while self.accept_word("when"):
            parts.append(self.expression())
            self.expect_word("then")
            parts.append(self.expression())
        if self.accept_word("else"):
            parts.append(self.expression())
        self.expect_word("end")
        return Opaque(self.text[start : self.tokens[self.position - 1].start + 3], tuple(parts))


def _flatten(op: str, items: list[Node]) -> tuple[Node, ...]:
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, BoolOp) and item.op == op else (item,))
    return tuple(flat)


def function_body_expression(language: str, body: str) -> Node | None:
    """The single expression a wrapper function returns, or None if it is not that simple.

    Understood: ``RETURN expr`` and ``BEGIN ATOMIC SELECT expr; END`` (SQL-standard
    bodies as PostgreSQL prints them), ``SELECT expr`` (a LANGUAGE sql body) and
    ``BEGIN RETURN expr; END`` (a one-statement PL/pgSQL body).
    """
    try:
        tokens = tokenize(body)[:-1]  # without the end marker
    except ExpressionSyntaxError:
        return None
    stop = len(body)

    def strip_semicolons() -> None:
        nonlocal stop
        while tokens and tokens[-1].is_punct(";"):
            stop = tokens.pop().start

    strip_semicolons()
    if language == "plpgsql":
        if len(tokens) < 4 or not (tokens[0].is_word("begin") and tokens[1].is_word("return")):
            return None
        if not tokens[-1].is_word("end"):
            return None
        stop = tokens.pop().start
        strip_semicolons()
        return _expression_in(body, tokens[2:], stop)
    if tokens and tokens[0].is_word("return"):
        return _expression_in(body, tokens[1:], stop)
    if len(tokens) > 2 and tokens[0].is_word("begin") and tokens[1].is_word("atomic"):
        if not tokens[-1].is_word("end"):
            return None
        stop = tokens.pop().start
        strip_semicolons()
        tokens = tokens[2:]
    if not tokens or not tokens[0].is_word("select"):
        return None
    if any(t.is_punct(";") for t in tokens):
        return None
    try:
        node = parse_expression(f"({body[tokens[0].start : stop]})")
    except ExpressionSyntaxError:
        return None
    return node.target if isinstance(node, ScalarSelect) else None


def _expression_in(body: str, tokens: list[Token], stop: int) -> Node | None:
    if not tokens or any(t.is_punct(";") for t in tokens):
        return None
    try:
        return parse_expression(body[tokens[0].start : stop])
    except ExpressionSyntaxError:
        return None
