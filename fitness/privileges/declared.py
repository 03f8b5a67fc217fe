"""What the contract declares about roles, schemas and the tables they share."""

from __future__ import annotations

from dataclasses import dataclass

from fitness.config import Config, PlatformRole, Service


@dataclass(frozen=True)
class DeclaredAccess:
    """Lookups over ``services`` and ``platform_roles`` by role and by schema."""

    config: Config

    def service_of_role(self, role: str) -> Service | None:
        return next((s for s in self.config.services.values() if s.role == role), None)

    def service_of_schema(self, schema: str) -> Service | None:
        return self.config.service_by_schema(schema)

    def platform_role(self, role: str) -> PlatformRole | None:
        return self.config.platform_roles.get(role)

    def is_declared(self, role: str) -> bool:
        return self.service_of_role(role) is not None or role in self.config.platform_roles

    @property
    def service_roles(self) -> list[str]:
        return [s.role for s in self.config.services.values()]

    @property
    def service_schemas(self) -> list[str]:
        return [s.schema for s in self.config.services.values()]

    def publishes(self, schema: str, table: str) -> bool:
        owner = self.service_of_schema(schema)
        return owner is not None and table in owner.publishes

    def declares_read(self, reader: Service, schema: str, table: str) -> bool:
        owner = self.service_of_schema(schema)
        return owner is not None and table in reader.reads.get(owner.name, ())

    def platform_writes(self, role: str, qualified_table: str) -> bool:
        declared = self.platform_role(role)
        return declared is not None and qualified_table in declared.writes
