"""The code checks read files; they never import or run the code they check."""

from __future__ import annotations

import sys
from pathlib import Path

from fitness.code.schema_references import check_schema_references
from fitness.config import load_config
from fitness.engine import CheckContext
from fitness.engine.runner import run_one

BOOBY_TRAP = '''"""Importing this module would leave a mark and stop the process."""

from pathlib import Path

Path({mark!r}).write_text("imported")
raise SystemExit("imported by a static check")

import shop.beta.models
'''


def test_no_check_imports_the_code(tmp_path: Path) -> None:
    mark = tmp_path / "imported"
    root = tmp_path / "trap"
    for package in ("shop", "shop/alpha", "shop/beta"):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text(BOOBY_TRAP.format(mark=str(mark)))
    (root / "shop/beta/models.py").write_text(BOOBY_TRAP.format(mark=str(mark)))
    (root / "shop/alpha/trap.sql").write_text("SET app.tenant_id = 'x';\n")
    (root / "quality-attributes.yaml").write_text(
        "version: 1\nservices:\n"
        "  alpha: {schema: alpha, role: alpha_service, package: shop.alpha}\n"
        "  beta: {schema: beta, role: beta_service, package: shop.beta}\n"
    )
    config = load_config(root / "quality-attributes.yaml")
    calls = run_one(CheckContext(config), "no-cross-service-calls")
    tenant = run_one(CheckContext(config), "tenant-scope")
    check_schema_references(config)
    assert not mark.exists()
    assert not any(name == "shop" or name.startswith("shop.") for name in sys.modules)
    assert "shop/alpha/__init__.py:8" in {v.subject for v in calls.violations}
    assert "shop/alpha/trap.sql:1" in {v.subject for v in tenant.violations}
