"""The tenant-predicate rule, on expressions as PostgreSQL prints them and as people write them."""

from __future__ import annotations

import pytest

from fitness.rls.expression import ExpressionSyntaxError, function_body_expression, parse_expression
from fitness.rls.predicate import PredicateJudge, Shape, Wrapper

QUIET = "(NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid"


def judge(text: str, wrappers: dict[tuple[str, str], Wrapper] | None = None) -> tuple[Shape, bool]:
    verdict = PredicateJudge("tenant_id", "app.tenant_id", wrappers or {}).judge(text)
    return verdict.shape, verdict.noisy


@pytest.mark.parametrize(
    "text",
    [
        # the canonical forms, as pg_get_expr prints them
        f'(tenant_id = ( SELECT {QUIET} AS "nullif"))',
        f"(tenant_id = {QUIET})",
        f"({QUIET} = tenant_id)",
        f'(( SELECT {QUIET} AS "nullif") = tenant_id)',
        # narrowed further: still fail-closed
        f"((tenant_id = {QUIET}) AND (deleted_at IS NULL))",
        f"((email IS NOT NULL) AND ((tenant_id = {QUIET}) AND (NOT archived)))",
        f"((tenant_id = {QUIET}) AND ((a = 1) OR (b = 2)))",
        # as written by hand, any case and spacing, setting name in any case
        "TENANT_ID = nullif( Current_Setting( 'App.Tenant_Id' , TRUE ), '' )::UUID",
        "tenant_id = CAST(NULLIF(current_setting('app.tenant_id', true), '') AS uuid)",
        "t.tenant_id = (select (select nullif(current_setting('app.tenant_id', true), '')::uuid))",
        "tenant_id = pg_catalog.nullif(pg_catalog.current_setting('app.tenant_id', true), '')"
        "::pg_catalog.uuid",
    ],
)
def test_fail_closed_quiet_forms_are_tenant_predicates(text: str) -> None:
    assert judge(text) == (Shape.TENANT, False)


@pytest.mark.parametrize(
    "text",
    [
        "(tenant_id = (current_setting('app.tenant_id'::text))::uuid)",
        "(tenant_id = (current_setting('app.tenant_id'::text, true))::uuid)",
        "(tenant_id = (NULLIF(current_setting('app.tenant_id'::text), ''::text))::uuid)",
        "((current_setting('app.tenant_id'::text))::uuid = tenant_id)",
    ],
)
def test_forms_that_raise_instead_of_matching_nothing_are_tenant_predicates_but_noisy(text: str) -> None:
    assert judge(text) == (Shape.TENANT, True)


@pytest.mark.parametrize(
    ("text", "shape", "reason"),
    [
        ("true", Shape.ALWAYS_TRUE, "is always true"),
        ("(1 = 1)", Shape.ALWAYS_TRUE, "constant"),
        (
            f"((current_setting('app.tenant_id'::text, true) IS NULL) OR (tenant_id = {QUIET}))",
            Shape.LOOSE,
            "shows every tenant's rows when no tenant is set",
        ),
        (
            f"((current_setting('app.tenant_id'::text, true) = ''::text) OR (tenant_id = {QUIET}))",
            Shape.LOOSE,
            "when no tenant is set",
        ),
        (f"((tenant_id = {QUIET}) OR is_shared)", Shape.LOOSE, "ORs the tenant comparison"),
        (
            "(tenant_id = (COALESCE(NULLIF(current_setting('app.tenant_id'::text, true), ''::text),"
            " '00000000-0000-0000-0000-000000000000'::text))::uuid)",
            Shape.LOOSE,
            "COALESCE",
        ),
        (
            "(tenant_id = COALESCE((NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid,"
            " tenant_id))",
            Shape.LOOSE,
            "COALESCE",
        ),
        (
            "(tenant_id = current_setting('app.tenant_id'::text, true))",
            Shape.LOOSE,
            "raw text",
        ),
        (
            "((tenant_id)::text = current_setting('app.tenant_id'::text, true))",
            Shape.LOOSE,
            "cast of tenant_id",
        ),
        (
            f"(NOT (tenant_id IS DISTINCT FROM {QUIET}))",
            Shape.LOOSE,
            "may show rows",
        ),
        (f"(tenant_id IS NOT DISTINCT FROM {QUIET})", Shape.LOOSE, "IS NOT DISTINCT FROM"),
        (f"(tenant_id <> {QUIET})", Shape.LOOSE, "may show rows"),
        (f"(owner_id = {QUIET})", Shape.LOOSE, "may show rows"),
        ("(tenant_id = (current_setting('app.other'::text))::uuid)", Shape.UNRELATED, "does not compare"),
        ("(deleted_at IS NULL)", Shape.UNRELATED, "does not compare"),
        ("(owner = CURRENT_USER)", Shape.UNRELATED, "does not compare"),
        (
            "(tenant_id IN ( SELECT m.tenant_id FROM memberships m WHERE (m.user_id = 1)))",
            Shape.UNRELATED,
            "",
        ),
    ],
)
def test_anything_else_is_not_a_tenant_predicate(text: str, shape: Shape, reason: str) -> None:
    verdict = PredicateJudge("tenant_id", "app.tenant_id", {}).judge(text)
    assert verdict.shape is shape
    assert reason in verdict.reason


@pytest.mark.parametrize("text", ["false", "NULL::boolean", "NULL"])
def test_false_and_null_deny(text: str) -> None:
    assert judge(text) == (Shape.DENIES, False)


def test_a_wrapper_is_looked_through_one_level() -> None:
    body = function_body_expression("sql", "SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid")
    inner = Wrapper("app.current_tenant()", body)
    outer = Wrapper("app.outer_tenant()", function_body_expression("sql", "RETURN app.current_tenant()"))
    wrappers = {("app", "current_tenant"): inner, ("app", "outer_tenant"): outer}
    assert judge("(tenant_id = app.current_tenant())", wrappers) == (Shape.TENANT, False)
    assert judge("(tenant_id = ( SELECT app.current_tenant() AS current_tenant))", wrappers) == (
        Shape.TENANT,
        False,
    )
    assert judge("(tenant_id = app.outer_tenant())", wrappers)[0] is Shape.UNRELATED


def test_a_wrapper_whose_body_cannot_be_read_is_named() -> None:
    wrappers = {("app", "tenant"): Wrapper("app.tenant()", None)}
    verdict = PredicateJudge("tenant_id", "app.tenant_id", wrappers).judge("(tenant_id = app.tenant())")
    assert verdict.shape is Shape.UNRELATED
    assert "app.tenant()" in verdict.reason


def test_a_wrapper_that_fails_open_is_loose() -> None:
    body = function_body_expression(
        "plpgsql",
        "BEGIN RETURN coalesce(nullif(current_setting('app.tenant_id', true), ''),"
        " '00000000-0000-0000-0000-000000000000')::uuid; END;",
    )
    wrappers = {("app", "tenant"): Wrapper("app.tenant()", body)}
    assert judge("(tenant_id = app.tenant())", wrappers)[0] is Shape.LOOSE


@pytest.mark.parametrize(
    ("language", "body"),
    [
        ("sql", " SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid; "),
        ("sql", "select nullif(current_setting('app.tenant_id', true), '')::uuid as t -- tenant\n"),
        ("sql", "RETURN (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid"),
        (
            "sql",
            "BEGIN ATOMIC\n SELECT (NULLIF(current_setting('app.tenant_id'::text, true), ''::text))::uuid"
            ' AS "nullif";\nEND',
        ),
        ("plpgsql", "\nBEGIN\n  RETURN NULLIF(current_setting('app.tenant_id', true), '')::uuid;\nEND;\n"),
    ],
)
def test_wrapper_bodies_that_are_one_expression_are_read(language: str, body: str) -> None:
    assert function_body_expression(language, body) is not None


@pytest.mark.parametrize(
    ("language", "body"),
    [
        ("sql", "SELECT tenant_id FROM app.sessions WHERE id = 1"),
        ("sql", "SELECT 1; SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid"),
        ("plpgsql", "BEGIN PERFORM 1; RETURN NULLIF(current_setting('app.tenant_id', true), '')::uuid; END"),
        ("plpgsql", "DECLARE t uuid; BEGIN RETURN t; END"),
        ("sql", "$$ unterminated"),
    ],
)
def test_other_bodies_are_not_read(language: str, body: str) -> None:
    assert function_body_expression(language, body) is None


@pytest.mark.parametrize(
    "text",
    [
        "CASE WHEN a THEN b ELSE c END",
        "EXTRACT(epoch FROM now()) > 5",
        "a = ANY (ARRAY['x'::text, 'y'::text])",
        "x::timestamp with time zone AT TIME ZONE 'utc' >= now() - interval '1 day'",
        "a BETWEEN 1 AND 2 AND b NOT LIKE 'x%' ESCAPE '!'",
        "EXISTS ( SELECT 1 FROM t WHERE t.a = x.b)",
        "(r).field = $1 AND col[1] <> E'it''s \\n'",
        "a=--a comment, not an operator\n1 AND b/* another */=-1 AND c @- d",
        "a::numeric(10,2) + b::character varying(5)::text || $tag$x$tag$ IS NOT NULL",
    ],
)
def test_the_reader_understands_what_postgres_prints(text: str) -> None:
    parse_expression(text)


@pytest.mark.parametrize("text", ["tenant_id =", "(a = b", "a = b)", "SELECT", "a @@@ "])
def test_text_that_is_not_an_expression_is_refused(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_expression(text)


def test_an_unreadable_expression_that_reads_the_setting_is_loose_not_accepted() -> None:
    text = "tenant_id = current_setting('app.tenant_id')::uuid OPERATOR(pg_catalog.=) x"
    verdict = PredicateJudge("tenant_id", "app.tenant_id", {}).judge(text)
    assert verdict.shape is Shape.LOOSE
