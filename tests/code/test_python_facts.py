"""Reading a Python file's facts: names resolved through imports, constants and bindings."""

from __future__ import annotations

import textwrap

from fitness.code.python_facts import extract_python_facts
from fitness.service_addresses import Endpoint


def facts(source: str):  # type: ignore[no-untyped-def]
    return extract_python_facts(textwrap.dedent(source).encode())


def test_client_targets_follow_aliases_constants_and_bound_names() -> None:
    found = facts(
        """
        from httpx import Client as HttpClient
        from requests import get as fetch
        HOST = "127.0.0.1"
        PORT = 8002
        BASE = f"http://{HOST}:{PORT}"
        fetch(BASE + "/x")
        class Api:
            def __init__(self):
                self.http = HttpClient()
            def call(self):
                return self.http.get("http://localhost:9000/y")
        """
    ).client_uses
    assert [(u.line, u.api, u.targets) for u in found] == [
        (7, "requests.get", None),
        (12, "httpx.Client.get", (Endpoint("localhost", 9000),)),
    ]
    assert (
        found[0].unknown_because == "the target is computed at run time"
    )  # PORT is an integer in an f-string


def test_urls_with_a_known_host_and_a_computed_path_are_read() -> None:
    found = facts(
        """
        import requests
        def f(order):
            requests.get(f"https://api.example/orders/{order}")
            requests.get("https://" + order)
            requests.get("%s/orders" % order)
        """
    ).client_uses
    assert [u.targets for u in found] == [(Endpoint("api.example", 443),), None, None]


def test_a_name_rebound_is_not_a_constant() -> None:
    found = facts(
        """
        import requests
        URL = "http://127.0.0.1:8002"
        URL += "/x"
        requests.get(URL)
        """
    ).client_uses
    assert found[0].targets is None


def test_docstrings_and_comments_hold_no_addresses() -> None:
    found = facts(
        '''
        """Calls nothing at http://127.0.0.1:8002."""
        # http://127.0.0.1:8003
        def f():
            """Not http://127.0.0.1:8004 either."""
            "nor http://127.0.0.1:8005"
            return "http://127.0.0.1:8006"
        '''
    ).addresses
    assert [(a.line, a.text) for a in found] == [(7, "http://127.0.0.1:8006")]


def test_sql_lines_map_into_triple_quoted_strings() -> None:
    sql = facts(
        '''
        def f(conn):
            conn.execute("""
                SELECT 1
                  FROM beta.orders
            """)
        '''
    ).sql[0]
    assert sql.line == 3 and sql.line_exact
    assert sql.file_line(3) == 5


def test_sql_held_in_a_local_name_is_followed_to_its_execution() -> None:
    sql = facts(
        """
        from sqlalchemy import text
        def f(session):
            query = "SELECT set_config('app.tenant_id', :t, true)"
            with session.begin():
                session.execute(text(query), {"t": "x"})
            session.execute(text(query))
        """
    ).sql
    assert len(sql) == 1
    assert [(e.line, e.in_transaction) for e in sql[0].executions] == [(6, True), (7, False)]
    assert sql[0].named_parameters == {"t": "x"}


def test_a_nested_function_does_not_inherit_the_transaction_block() -> None:
    sql = facts(
        """
        def f(conn):
            with conn.transaction():
                def later():
                    conn.execute("SET LOCAL app.tenant_id = 'x'")
                return later
        """
    ).sql
    assert [e.in_transaction for e in sql[0].executions] == [False]


def test_prose_that_starts_like_sql_is_kept_but_marked_unexecuted() -> None:
    sql = facts('LABEL = "Select a tenant from the directory"\n').sql
    assert len(sql) == 1 and not sql[0].executed


def test_syntax_errors_are_facts_not_crashes() -> None:
    assert facts("def broken(:\n").syntax_error == (1, "invalid syntax")
