"""What the rls-coverage checks share: the contract's tenancy and services, and the catalog read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from fitness.config import Config, Service
from fitness.rls.catalog import Catalog, Relation
from fitness.rls.predicate import canonical_predicate

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class GlobalDeclaration:
    service: Service
    table: str
    reason: str


class Scope:
    def __init__(self, config: Config, catalog: Catalog) -> None:
        self.config = config
        self.catalog = catalog
        self.column = config.tenancy.column
        self.setting = config.tenancy.setting

    @cached_property
    def predicate(self) -> str:
        """The fail-closed tenant predicate, as SQL, for the fixes in hints."""
        return canonical_predicate(self.catalog.quoted_column, self.setting)

    @cached_property
    def global_declarations(self) -> dict[tuple[str, str], GlobalDeclaration]:
        """``(schema, table)`` -> the declaration in ``services.*.global_tables``."""
        return {
            (service.schema, table): GlobalDeclaration(service, table, reason)
            for service in self.config.services.values()
            for table, reason in service.global_tables.items()
        }

    @cached_property
    def tenant_tables(self) -> list[Relation]:
        return [r for r in self.catalog.relations.values() if r.is_tenant_table]

    @cached_property
    def over_tenant_tables(self) -> frozenset[str]:
        """Views and materialized views that read tenant tables."""
        return frozenset(view.qualified for view in self.catalog.views)

    @cached_property
    def bypass_roles(self) -> frozenset[str]:
        """Platform roles declared (with a reason) to read every tenant."""
        return frozenset(name for name, role in self.config.platform_roles.items() if role.bypass_rls)

    @cached_property
    def services_by_role(self) -> dict[str, str]:
        return {service.role: name for name, service in self.config.services.items()}

    def parent(self, relation: Relation) -> Relation | None:
        if relation.parent_oid is None:
            return None
        return self.catalog.relations.get(relation.parent_oid)

    def config_location(self, *path: str | int) -> str:
        line = self.config.document.line_of(path)
        return f"{self.config.path}:{line}" if line else str(self.config.path)

    def tenant_policy_sql(self, table: str, name: str = "tenant_isolation") -> str:
        return (
            f"CREATE POLICY {name} ON {table} FOR ALL USING ({self.predicate}) WITH CHECK ({self.predicate});"
        )


def describe_roles(roles: Iterable[str]) -> str:
    """``["public"]`` -> "every role"; ``["a", "b"]`` -> "roles a, b"."""
    names = sorted(set(roles))
    if "public" in names or "PUBLIC" in names:
        return "every role"
    return ("role " if len(names) == 1 else "roles ") + ", ".join(names)


def listing(items: list[str], limit: int = 10) -> str:
    """A readable list that stays short: the first ``limit`` items and how many more."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
