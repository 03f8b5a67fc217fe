"""tenant-scope, static half: session-level, role-level and out-of-transaction tenants, by file:line."""

from __future__ import annotations

from fitness.config import Config
from fitness.engine import CheckContext, Status
from fitness.engine.runner import run_one

FITNESS = "tenant-scope"
SESSION = "for the whole session"
DEFAULT = "a default for a"
OUTSIDE = "for the transaction outside a transaction block"
OPTIONS = "in the connection's startup options"

EXPECTED = {
    "shop/alpha/tenant.py:7": SESSION,  # a constant with set_config(..., false)
    "shop/alpha/tenant.py:11": SESSION,
    "shop/alpha/tenant.py:12": SESSION,  # SET
    "shop/alpha/tenant.py:13": SESSION,  # SET SESSION
    "shop/alpha/tenant.py:14": SESSION,  # the setting name as a parameter, 'off'
    "shop/alpha/tenant.py:19": "is_local) is not a literal",
    "shop/alpha/tenant.py:24": OUTSIDE,  # autocommit connection, no transaction block
    "shop/alpha/tenant.py:26": OUTSIDE,  # SET LOCAL on a pooled connection, no block
    "shop/alpha/tenant.py:41": OPTIONS,
    "shop/alpha/database.ini:3": OPTIONS,
    "shop/alpha/migrations/002_tenant.sql:2": f"{DEFAULT} role (ALTER ROLE)",
    "shop/alpha/migrations/002_tenant.sql:3": f"{DEFAULT} role (ALTER ROLE)",
    "shop/alpha/migrations/002_tenant.sql:4": f"{DEFAULT} database (ALTER DATABASE)",
    "shop/alpha/migrations/002_tenant.sql:5": SESSION,
    "shop/alpha/migrations/002_tenant.sql:6": OUTSIDE,
    "shop/alpha/migrations/002_tenant.sql:7": OUTSIDE,
    "shop/alpha/migrations/002_tenant.sql:17": SESSION,  # PERFORM set_config(..., false) in a DO body
}


def test_every_wrong_tenant_setting_is_reported_at_its_line(broken_shop: Config) -> None:
    result = run_one(CheckContext(broken_shop), FITNESS)
    assert result.fitness == FITNESS
    assert result.status is Status.FAIL
    reported = {v.subject: v for v in result.violations}
    assert set(reported) == set(EXPECTED)
    for subject, fragment in EXPECTED.items():
        assert fragment in reported[subject].message, subject
        assert "app.tenant_id" in (reported[subject].hint or "")


def test_transaction_blocks_and_clearing_are_accepted(broken_shop: Config) -> None:
    subjects = {v.subject for v in run_one(CheckContext(broken_shop), FITNESS).violations}
    for line in (6, 31, 33, 35, 36):  # the constant, conn.transaction(), engine.begin(), '' and RESET
        assert f"shop/alpha/tenant.py:{line}" not in subjects
    for line in (8, 11, 12):  # RESET, and SET LOCAL / set_config(..., true) after BEGIN
        assert f"shop/alpha/migrations/002_tenant.sql:{line}" not in subjects
    assert "shop/alpha/database.ini:2" not in subjects  # a comment


def test_the_platform_helper_is_read_too(broken_shop: Config) -> None:
    result = run_one(CheckContext(broken_shop), FITNESS)
    assert any(n.startswith("code: ") and "of shop scanned" in n for n in result.notes)


def test_the_clean_shop_passes(clean_shop: Config) -> None:
    result = run_one(CheckContext(clean_shop), FITNESS)
    assert result.status is Status.PASS, result.violations
