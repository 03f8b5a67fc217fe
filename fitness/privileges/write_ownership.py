"""write-ownership: each service role writes only its own schema, by any route."""

from __future__ import annotations

from collections.abc import Callable

from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, FitnessFunction, Kind, SkipFitness
from fitness.privileges.catalog import PrivilegeCatalog, read_privilege_catalog
from fitness.privileges.declared import DeclaredAccess
from fitness.privileges.default_privileges import judge_default_write_grants
from fitness.privileges.definer_functions import judge_definer_functions
from fitness.privileges.memberships import WRITING_PREDEFINED_ROLES, judge_memberships
from fitness.privileges.ownership import judge_declared_objects, judge_ownership
from fitness.privileges.role_attributes import judge_role_attributes
from fitness.privileges.write_grants import is_write, judge_write_grants
from fitness.privileges.write_probe import judge_write_probe, run_write_probe


class WriteOwnership(FitnessFunction):
    id = "write-ownership"
    kinds = (Kind.CATALOG, Kind.PROBE)
    summary = (
        "each service role can write only its own schema, by any route (grants, columns, "
        "sequences, PUBLIC, default privileges, ownership, memberships, role attributes, "
        "SECURITY DEFINER functions), and a real write on another schema is refused"
    )
    needs_database = True

    def run(self, context: CheckContext) -> Findings:
        declared = DeclaredAccess(context.config)
        findings = Findings()
        with context.connect() as conn:
            catalog = read_privilege_catalog(conn, declared)
        judge_declared_objects(catalog, declared, findings)
        judge_role_attributes(catalog, declared, findings)
        wholesale = judge_memberships(catalog, declared, findings)
        judge_write_grants(catalog, declared, wholesale, findings)
        judge_definer_functions(catalog, declared, wholesale, findings)
        judge_default_write_grants(catalog, declared, findings)
        judge_ownership(catalog, declared, findings)
        roles = []
        for service in context.config.services.values():
            role = catalog.role(service.role)
            if role is not None and role.superuser:
                # every write would succeed (TRUNCATE included): the attribute is reported
                findings.note(f"write probe: {role.name} is a superuser and was not probed")
            elif role is not None:
                roles.append(role.name)
        try:
            unrefused, tallies = run_write_probe(context, declared, roles)
        except SkipFitness as skip:
            findings.note(f"write probe skipped: {skip}")
        else:
            judge_write_probe(unrefused, tallies, CatalogWrites(catalog).explains, _quoter(catalog), findings)
        return findings


class CatalogWrites:
    """Whether the catalog shows a route for a role to write a table (to judge probe results)."""

    def __init__(self, catalog: PrivilegeCatalog) -> None:
        self._catalog = catalog
        self._granted = {
            (g.subject.name if g.subject else None, g.qualified, g.privilege)
            for g in catalog.grants
            if is_write(g)
        }
        # a role that can become an owner in a schema is reported as such; its writes
        # there are that finding confirmed, not a new one
        self._owners_in: dict[str, set[int]] = {}
        for owned in catalog.owned:
            self._owners_in.setdefault(owned.schema, set()).add(owned.owner.oid)

    def explains(self, role_name: str, qualified: str, privilege: str) -> bool:
        role = self._catalog.role(role_name)
        if role is None:
            return False
        if (role_name, qualified, privilege) in self._granted:
            return True
        if (None, qualified, privilege) in self._granted:
            return True
        usable = {role.oid} | {m.role.oid for m in self._catalog.reachable(role)}
        if usable & self._owners_in.get(qualified.split(".", 1)[0], set()):
            return True
        if role.superuser:
            return True
        return any(
            m.role.superuser or m.role.name in WRITING_PREDEFINED_ROLES for m in self._catalog.reachable(role)
        )


def _quoter(catalog: PrivilegeCatalog) -> Callable[[str], str]:
    def quoted(name: str) -> str:
        role = catalog.role(name)
        return role.sql_name if role is not None else name

    return quoted
