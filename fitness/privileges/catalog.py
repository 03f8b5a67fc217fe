"""A snapshot of roles, memberships, grants and owners, read with a fixed number of queries.

Both write-ownership and read-contract judge this snapshot. Whatever the number
of tables and roles, reading it costs six queries: roles, the membership
closure, the grants that exist (exploded from the ACLs), default privileges,
ownership and callable SECURITY DEFINER functions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fitness.privileges.declared import DeclaredAccess
from fitness.sql_files import sql_file

_SQL = "fitness.privileges.sql"
# The five queries see the catalog as of one moment, even while a migration runs.
_ONE_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"

# Role attributes that step outside the service model, in the order reports list them.
ATTRIBUTES = ("SUPERUSER", "BYPASSRLS", "CREATEROLE", "CREATEDB", "REPLICATION")

RELATION_KINDS = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
    "S": "sequence",
    "n": "schema",
}


@dataclass(frozen=True)
class Role:
    oid: int
    name: str
    sql_name: str  # quoted for SQL where needed
    login: bool
    superuser: bool
    bypass_rls: bool
    create_role: bool
    create_db: bool
    replication: bool
    bootstrap: bool
    predefined: bool
    connected: bool  # the role fitgate's session runs as

    @property
    def attributes(self) -> tuple[str, ...]:
        flags = (self.superuser, self.bypass_rls, self.create_role, self.create_db, self.replication)
        return tuple(name for name, on in zip(ATTRIBUTES, flags, strict=True) if on)


@dataclass(frozen=True)
class Membership:
    """``member`` can use ``role``: by inheritance, by SET ROLE, or both."""

    member: Role
    role: Role
    first_hop: Role  # the role granted to ``member`` directly on the way
    inherited: bool
    settable: bool

    @property
    def how(self) -> str:
        """``inherits``, ``can SET ROLE to`` or ``is a member of``, for messages."""
        if self.inherited:
            return "inherits"
        return "can SET ROLE to" if self.settable else "is a member of"

    @property
    def revoke(self) -> str:
        return f"REVOKE {self.first_hop.sql_name} FROM {self.member.sql_name};"


@dataclass(frozen=True)
class Grant:
    """A privilege on an object of a service schema, held by ``subject`` through ``grantee``.

    ``subject`` is None for a grant to PUBLIC (``grantee`` is then None too).
    ``columns`` is empty for a table-level grant.
    """

    subject: Role | None
    grantee: Role | None
    kind: str  # relkind, or "n" for the schema itself
    schema: str
    name: str
    object_sql: str
    root: str | None  # schema.table of the partition root, for partitions
    privilege: str
    columns: tuple[str, ...] = ()
    columns_sql: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return self.schema if self.kind == "n" else f"{self.schema}.{self.name}"

    @property
    def grantee_sql(self) -> str:
        return "PUBLIC" if self.grantee is None else self.grantee.sql_name


@dataclass(frozen=True)
class DefaultGrant:
    """A privilege that future tables or sequences created by ``creator`` will grant."""

    creator: Role
    schema: str | None  # None: a global entry, applying wherever ``creator`` may create
    object_type: str  # "r" tables, "S" sequences
    grantee: Role | None  # None: PUBLIC
    privilege: str
    target_schemas: tuple[str, ...]  # the service schemas it applies to

    @property
    def grantee_sql(self) -> str:
        return "PUBLIC" if self.grantee is None else self.grantee.sql_name


@dataclass(frozen=True)
class DefinerExecute:
    """``subject`` can call a SECURITY DEFINER function of another service's schema."""

    subject: Role
    grantee: Role | None  # None: PUBLIC
    schema: str
    function: str  # schema.name(arguments)
    function_sql: str
    owner: Role

    @property
    def grantee_sql(self) -> str:
        return "PUBLIC" if self.grantee is None else self.grantee.sql_name


@dataclass(frozen=True)
class OwnedObjects:
    """Objects of one kind in one service schema with the same owner."""

    schema: str
    owner: Role
    kind: str  # schema, table, view, sequence, function, ...
    count: int
    names: tuple[str, ...]  # listed only for schemas and for login or service-role owners
    names_sql: tuple[str, ...]


@dataclass
class PrivilegeCatalog:
    roles: dict[int, Role]
    memberships: list[Membership]
    grants: list[Grant]
    default_grants: list[DefaultGrant]
    owned: list[OwnedObjects]
    definer_functions: list[DefinerExecute]
    subjects: list[Role]  # the roles whose grants were read: services, platform, other logins
    _by_name: dict[str, Role] = field(init=False, repr=False)
    _reach: dict[int, list[Membership]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {role.name: role for role in self.roles.values()}
        self._reach = defaultdict(list)
        for membership in self.memberships:
            self._reach[membership.member.oid].append(membership)

    def role(self, name: str) -> Role | None:
        return self._by_name.get(name)

    def reachable(self, member: Role) -> list[Membership]:
        """Every role ``member`` can use, other than itself."""
        return self._reach.get(member.oid, [])

    def membership(self, member: Role, role: Role) -> Membership | None:
        return next((m for m in self.reachable(member) if m.role.oid == role.oid), None)

    def route(self, grant: Grant) -> str:
        """How the subject of ``grant`` holds it, as a parenthesised phrase."""
        if grant.grantee is None:
            return "(granted to PUBLIC)"
        if grant.subject is None or grant.grantee.oid == grant.subject.oid:
            return "(granted to it directly)"
        membership = self.membership(grant.subject, grant.grantee)
        how = {
            "inherits": "which it inherits",
            "can SET ROLE to": "which it can SET ROLE to",
            "is a member of": "of which it is a member",
        }["inherits" if membership is None else membership.how]
        return f"(granted to {grant.grantee.name}, {how})"

    def owners_in_service_schemas(self) -> dict[int, list[OwnedObjects]]:
        owners: dict[int, list[OwnedObjects]] = defaultdict(list)
        for owned in self.owned:
            owners[owned.owner.oid].append(owned)
        return owners


def read_privilege_catalog(conn: psycopg.Connection[Any], declared: DeclaredAccess) -> PrivilegeCatalog:
    """Read the snapshot the privilege fitness functions judge (six queries, one snapshot)."""
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_ONE_SNAPSHOT)
        cur.execute(sql_file(_SQL, "roles.sql"))
        roles = {row["oid"]: Role(**row) for row in cur.fetchall()}
        cur.execute(sql_file(_SQL, "memberships.sql"))
        memberships = [
            Membership(
                member=roles[row["member_oid"]],
                role=roles[row["role_oid"]],
                first_hop=roles[row["first_hop_oid"]],
                inherited=row["inherited"],
                settable=row["settable"],
            )
            for row in cur.fetchall()
        ]
        subjects = _judged_subjects(roles.values(), declared)
        by_member: dict[int, list[Membership]] = defaultdict(list)
        for membership in memberships:
            by_member[membership.member.oid].append(membership)
        pairs = _reach_pairs(subjects, by_member, declared)
        schemas = declared.service_schemas
        judged = {
            "subjects": [p[0] for p in pairs],
            "reachable": [p[1] for p in pairs],
            "own_schemas": [p[2] for p in pairs],
            "service_schemas": schemas,
        }
        cur.execute(sql_file(_SQL, "grants.sql"), judged)
        grants = [_grant(row, roles) for row in cur.fetchall()]
        cur.execute(sql_file(_SQL, "definer_functions.sql"), judged)
        definer_functions = [
            DefinerExecute(
                subject=roles[row["subject_oid"]],
                grantee=roles.get(row["grantee_oid"]),
                schema=row["schema_name"],
                function=row["function_name"],
                function_sql=row["function_sql"],
                owner=roles[row["owner_oid"]],
            )
            for row in cur.fetchall()
        ]
        cur.execute(sql_file(_SQL, "default_privileges.sql"), {"service_schemas": schemas})
        default_grants = [
            DefaultGrant(
                creator=roles[row["creator_oid"]],
                schema=row["schema_name"],
                object_type=row["object_type"],
                grantee=roles.get(row["grantee_oid"]),
                privilege=row["privilege"],
                target_schemas=tuple(row["target_schemas"]),
            )
            for row in cur.fetchall()
            if row["target_schemas"]
        ]
        cur.execute(
            sql_file(_SQL, "ownership.sql"),
            {"service_schemas": schemas, "service_roles": declared.service_roles},
        )
        owned = [
            OwnedObjects(
                schema=row["schema_name"],
                owner=roles[row["owner_oid"]],
                kind=row["kind"],
                count=row["objects"],
                names=tuple(row["names"]),
                names_sql=tuple(row["names_sql"]),
            )
            for row in cur.fetchall()
        ]
    return PrivilegeCatalog(roles, memberships, grants, default_grants, owned, definer_functions, subjects)


def _judged_subjects(roles: Iterable[Role], declared: DeclaredAccess) -> list[Role]:
    """Service roles, platform roles and every other login role, short of superusers.

    Superusers are left out: they hold every privilege, and the role-attribute
    judgement reports them as a whole (or notes them, when declared).
    """
    return [
        role
        for role in roles
        if not role.predefined and not role.superuser and (declared.is_declared(role.name) or role.login)
    ]


def _reach_pairs(
    subjects: Sequence[Role],
    by_member: dict[int, list[Membership]],
    declared: DeclaredAccess,
) -> list[tuple[int, int, str | None]]:
    """(subject, role it can use, its own schema) for each subject and itself."""
    pairs: list[tuple[int, int, str | None]] = []
    for subject in subjects:
        service = declared.service_of_role(subject.name)
        own = service.schema if service is not None else None
        pairs.append((subject.oid, subject.oid, own))
        pairs.extend((subject.oid, m.role.oid, own) for m in by_member.get(subject.oid, []))
    return pairs


def _grant(row: dict[str, Any], roles: dict[int, Role]) -> Grant:
    root = f"{row['root_schema']}.{row['root_name']}" if row["root_name"] is not None else None
    return Grant(
        subject=roles.get(row["subject_oid"]) if row["subject_oid"] is not None else None,
        grantee=roles.get(row["grantee_oid"]),  # oid 0 is PUBLIC: no role
        kind=row["kind"],
        schema=row["schema_name"],
        name=row["object_name"],
        object_sql=row["object_sql"],
        root=root,
        privilege=row["privilege"],
        columns=tuple(row["columns"] or ()),
        columns_sql=tuple(row["columns_sql"] or ()),
    )
