"""Reading SQL with sqlglot: references, settings and transaction statements, with their lines."""

from __future__ import annotations

from fitness.code.sql_analysis import analyse_sql
from fitness.code.sql_facts import SqlAnalysis


def tables(text: str) -> list[tuple[str, str, int, bool]]:
    return [(t.schema, t.table, t.line, t.modifies) for t in analyse_sql(text).tables]


def test_cte_names_aliases_and_quoted_identifiers() -> None:
    assert tables(
        'WITH users AS (SELECT * FROM directory.users)\nSELECT * FROM users u, "Directory"."Roles" r'
    ) == [("directory", "users", 1, False), ("Directory", "Roles", 2, False)]


def test_write_targets_are_told_from_reads() -> None:
    assert tables("INSERT INTO a.t SELECT * FROM b.u") == [("a", "t", 1, True), ("b", "u", 1, False)]
    assert tables("DELETE FROM a.t USING b.u WHERE true") == [("a", "t", 1, True), ("b", "u", 1, False)]
    assert tables("TRUNCATE a.t") == [("a", "t", 1, True)]
    assert tables("GRANT SELECT ON a.t TO r") == [("a", "t", 1, True)]


def test_three_part_names_use_the_schema() -> None:
    assert tables("SELECT * FROM db.a.t") == [("a", "t", 1, False)]


def test_commands_and_function_bodies_are_read_by_tokens() -> None:
    text = (
        "CREATE POLICY p ON a.t USING (x = 1);\n"
        "CREATE FUNCTION a.f() RETURNS int LANGUAGE plpgsql AS $$\n"
        "BEGIN\n  RETURN (SELECT count(*) FROM b.secret);\nEND $$;\n"
    )
    assert tables(text) == [("a", "t", 1, True), ("a", "f", 2, True), ("b", "secret", 4, False)]


def test_schema_qualified_calls_are_not_tables() -> None:
    assert tables("CREATE POLICY p ON a.t USING (b.current_tenant() = tenant_id)") == [("a", "t", 1, True)]


def test_settings_and_their_scope() -> None:
    analysis = analyse_sql(
        "SET app.tenant_id = 'x'; SET LOCAL app.tenant_id = 'x'; SET search_path = a;\n"
        "SELECT set_config('App.Tenant_Id', $1, true), set_config($2, $1, 'false');\n"
        "ALTER USER u SET app.tenant_id = 'x'; ALTER ROLE u RESET app.tenant_id;"
    )
    assert [(s.setting, s.parameter, s.scope, s.clears) for s in analysis.settings] == [
        ("app.tenant_id", None, "session", False),
        ("app.tenant_id", None, "local", False),
        ("app.tenant_id", None, "local", False),
        (None, "1", "session", False),
        ("app.tenant_id", None, "role", False),
        ("app.tenant_id", None, "role", True),
    ]


def test_transaction_blocks_are_followed_statement_by_statement() -> None:
    analysis = analyse_sql("SET LOCAL a.b = 1; BEGIN; SET LOCAL a.b = 2; COMMIT; SET LOCAL a.b = 3;")
    assert [analysis.inside_transaction_block(s) for s in analysis.settings] == [False, True, False]


def test_a_statement_that_does_not_parse_is_a_problem_and_the_rest_is_read() -> None:
    analysis = analyse_sql("SELECT * FROM a.t;\nSELEKT oops FROM b.u;\nSELECT * FROM c.v")
    assert [(p.line, p.message) for p in analysis.problems] == [(2, "Invalid expression / Unexpected token")]
    assert [t.schema for t in analysis.tables] == ["a", "c"]


def test_view_options_do_not_hide_the_query() -> None:
    assert tables("CREATE VIEW a.v WITH (security_invoker = true) AS SELECT * FROM b.t") == [
        ("a", "v", 1, True),
        ("b", "t", 1, False),
    ]


def test_analyses_survive_the_cache_round_trip() -> None:
    analysis = analyse_sql("BEGIN; SET LOCAL a.b = 1; SELECT * FROM x.y; SELEKT;")
    assert SqlAnalysis.from_json(analysis.to_json()) == SqlAnalysis(
        analysis.tables, analysis.settings, analysis.transaction_marks, analysis.problems
    )
