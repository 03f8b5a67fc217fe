"""Roles whose attributes step outside the service model, and every role that can reach them."""

from __future__ import annotations

from fitness.config import PlatformRole
from fitness.engine.fitness_function import Findings
from fitness.privileges.catalog import PrivilegeCatalog, Role
from fitness.privileges.declared import DeclaredAccess

_WHY = {
    "SUPERUSER": "bypasses every privilege and row-level security",
    "BYPASSRLS": "ignores row-level security",
    "CREATEROLE": "can create roles and grant itself their memberships",
    "CREATEDB": "can create databases",
    "REPLICATION": "can stream every row of the cluster",
}


def judge_role_attributes(catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings) -> None:
    """Undeclared SUPERUSER, BYPASSRLS, CREATEROLE, CREATEDB, REPLICATION, held or reachable."""
    for name, platform in sorted(declared.config.platform_roles.items()):
        if catalog.role(name) is None:
            findings.note(f"platform role {name} is declared ({platform.reason}) but does not exist")
    for role in sorted(catalog.roles.values(), key=lambda r: r.name):
        if role.predefined:
            continue
        if role.bootstrap:
            how = "fitgate connects as it" if role.connected else "it exists in every cluster"
            findings.note(f"{role.name} is the bootstrap superuser ({how}); it is not judged")
            continue
        _judge_held(role, declared, findings)
        _judge_reached(role, catalog, declared, findings)


def _allowed(attribute: str, platform: PlatformRole | None) -> bool:
    """What a declared platform role may hold: what it declares, and the milder attributes."""
    if platform is None:
        return False
    if platform.superuser:
        return True
    if attribute == "SUPERUSER":
        return False
    if attribute == "BYPASSRLS":
        return platform.bypass_rls
    return True


def _judge_held(role: Role, declared: DeclaredAccess, findings: Findings) -> None:
    held = role.attributes
    platform = declared.platform_role(role.name)
    if not held:
        if platform is not None:
            findings.note(f"platform role {role.name} is declared: {platform.reason}")
        return
    denied = [a for a in held if not _allowed(a, platform)]
    accepted = [a for a in held if _allowed(a, platform)]
    if accepted and platform is not None:
        findings.note(f"platform role {role.name} holds {', '.join(accepted)} as declared: {platform.reason}")
    if not denied:
        return
    service = declared.service_of_role(role.name)
    if service is not None:
        who = f"{role.name}, the role of service {service.name},"
    elif platform is not None:
        who = f"platform role {role.name}"
    else:
        who = f"{role.name}, a role the contract does not declare,"
    findings.add(
        role.name,
        f"{who} has {', '.join(denied)}: it {_WHY[denied[0]]}.",
        hint=f"ALTER ROLE {role.sql_name} {' '.join('NO' + a for a in denied)};"
        + ("" if service is not None else " -- or declare it under platform_roles with a reason"),
    )


def _judge_reached(
    role: Role, catalog: PrivilegeCatalog, declared: DeclaredAccess, findings: Findings
) -> None:
    """A member of a role with an attribute can take it on (SET ROLE), whatever the grant says."""
    platform = declared.platform_role(role.name)
    for membership in sorted(catalog.reachable(role), key=lambda m: m.role.name):
        target = membership.role
        if target.predefined:
            continue
        gained = [a for a in target.attributes if a not in role.attributes]
        denied = [a for a in gained if not _allowed(a, platform)]
        if not denied:
            continue
        # attributes are never inherited: they come with SET ROLE
        how = "can SET ROLE to" if membership.settable else "is a member of"
        findings.add(
            role.name,
            f"{role.name} {how} {target.name}, which has {', '.join(denied)}: "
            f"through it {role.name} {_WHY[denied[0]]}.",
            hint=membership.revoke,
        )
