"""The code part of read-contract: other services' tables in SQL and SQLAlchemy, by file:line."""

from __future__ import annotations

from fitness.code.schema_references import check_schema_references
from fitness.config import Config

EXPECTED = {
    "shop/alpha/queries.py:10": "reads beta.ledger, which service beta does not publish",
    "shop/alpha/queries.py:17": "reads beta.invoices without declaring it in services.alpha.reads",
    "shop/alpha/queries.py:20": "reads gamma.stock without declaring it in services.alpha.reads",
    "shop/alpha/queries.py:22": "INSERT changes beta.orders, which belongs to service beta",
    "shop/alpha/queries.py:23": "UPDATE changes beta.invoices",
    "shop/alpha/queries.py:24": "reads beta.refunds, which service beta does not publish",
    "shop/alpha/tables.py:9": "reads beta.shipments, which service beta does not publish",
    "shop/alpha/tables.py:18": "reads beta.invoices without declaring it",
    "shop/alpha/tables.py:19": "reads beta.payouts, which service beta does not publish",
    "shop/alpha/migrations/001_reads.sql:5": "reads beta.ledger, which service beta does not publish",
    "shop/alpha/migrations/001_reads.sql:7": "CREATE POLICY changes beta.orders",
}


def test_every_undeclared_unpublished_or_written_table_is_reported(broken_shop: Config) -> None:
    findings = check_schema_references(broken_shop)
    reported = {v.subject: v for v in findings.violations}
    assert set(reported) == set(EXPECTED)
    for subject, fragment in EXPECTED.items():
        assert fragment in reported[subject].message, subject
        assert reported[subject].location == subject


def test_ctes_aliases_quoted_names_and_declared_reads_are_understood(broken_shop: Config) -> None:
    subjects = {v.subject for v in check_schema_references(broken_shop).violations}
    assert "shop/alpha/queries.py:9" not in subjects  # beta.orders: published and declared
    assert "shop/alpha/queries.py:18" not in subjects  # "beta"."orders", quoted
    assert "shop/alpha/queries.py:26" not in subjects  # "Beta" is another schema; beta_archive is none
    assert "shop/alpha/tables.py:8" not in subjects  # Table(..., schema="beta") of a declared read
    assert "shop/alpha/migrations/001_reads.sql:3" not in subjects


def test_fixes_name_the_contract_keys(broken_shop: Config) -> None:
    reported = {v.subject: v for v in check_schema_references(broken_shop).violations}
    assert reported["shop/alpha/queries.py:17"].hint == (
        "declare it: services.alpha.reads.beta: [..., invoices]"
    )
    assert "orders, invoices" in (reported["shop/alpha/queries.py:10"].hint or "")


def test_unparsable_statements_are_notes_with_their_location(broken_shop: Config) -> None:
    notes = check_schema_references(broken_shop).notes
    assert any(n.startswith("shop/alpha/queries.py:25: SQL that sqlglot cannot parse") for n in notes)
    assert any(
        n.startswith("shop/alpha/migrations/001_reads.sql:9: SQL that sqlglot cannot parse") for n in notes
    )


def test_the_clean_shop_reports_nothing(clean_shop: Config) -> None:
    findings = check_schema_references(clean_shop)
    assert findings.violations == []
    assert not [n for n in findings.notes if "cannot parse" in n]
