"""A small service that follows the event contract, for the event tests.

Schema ``pki``: devices and certificates of two tenants, row-level security,
the event table and catalogue from fitgate's own DDL templates, a certificate
event type with an old version and its upcaster, and a history written the
way a correct service writes it (state from the changed row, same
transaction, next version).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from fitness.config import Config, load_config
from fitness.events.catalog import render_ddl
from fitness.events.contract import aggregate_tables, event_schemas

SCHEMA = "pki"
TENANT_A = UUID("a0000000-0000-4000-8000-000000000001")
TENANT_B = UUID("b0000000-0000-4000-8000-000000000002")
DEVICE_1 = UUID("d0000000-0000-4000-8000-000000000001")  # tenant A, renamed twice
DEVICE_2 = UUID("d0000000-0000-4000-8000-000000000002")  # tenant B
DEVICE_3 = UUID("d0000000-0000-4000-8000-000000000003")  # tenant A, decommissioned (row gone)
DEVICE_4 = UUID("d0000000-0000-4000-8000-000000000004")  # tenant A
CERT_1 = UUID("c0000000-0000-4000-8000-000000000001")  # issued as v1 only: latest event is old
CERT_2 = UUID("c0000000-0000-4000-8000-000000000002")  # issued v2, rebound, revoked
CERT_3 = UUID("c0000000-0000-4000-8000-000000000003")  # issued v1, then bound (v1 and new events)

CONFIG = """\
version: 1
system: pki-fixture
services:
  pki:
    schema: pki
    role: pki_service
events:
  aggregates:
    pki.devices: Device
    pki.certificates: Certificate
  state:
    pki.certificates:
      exclude: [private_key_ref]
      rename: {serial: serial_number}
  deletions: [DeviceDecommissioned]
"""

TABLES = """
CREATE SCHEMA pki;
CREATE TABLE pki.devices (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    name text NOT NULL,
    registered_at timestamptz NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE pki.certificates (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    serial text NOT NULL,
    device_id uuid,
    status text NOT NULL,
    private_key_ref text NOT NULL,
    version integer NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE pki.devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE pki.devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pki.devices
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));
ALTER TABLE pki.certificates ENABLE ROW LEVEL SECURITY;
ALTER TABLE pki.certificates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pki.certificates
    USING (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid))
    WITH CHECK (tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid));

-- v1 payloads named the device "device" and v1 states had no status; v2 fixed both.
CREATE FUNCTION pki.certificate_issued_v1_to_v2(
    payload jsonb, state jsonb, OUT payload jsonb, OUT state jsonb)
LANGUAGE sql IMMUTABLE
AS $$
    SELECT ($1 - 'device') || jsonb_build_object('device_id', $1 -> 'device'),
           $2 || jsonb_build_object('status', 'active')
$$;
CREATE FUNCTION pki.certificate_bound_v1_to_v2(INOUT payload jsonb, INOUT state jsonb)
LANGUAGE sql IMMUTABLE
AS $$
    SELECT $1 || jsonb_build_object('reason', 'unrecorded'), $2 || jsonb_build_object('status', 'active')
$$;
"""


def _object(required: list[str], properties: Mapping[str, Any], *, closed: bool = True) -> Any:
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


_ACTOR = {"type": "string", "minLength": 1}
_UUID = {"type": "string", "format": "uuid"}
_VERSION = {"type": "integer", "minimum": 1}
DEVICE_STATE = _object(
    ["id", "tenant_id", "name", "registered_at", "version"],
    {
        "id": _UUID,
        "tenant_id": _UUID,
        "name": {"type": "string"},
        "registered_at": {"type": "string"},
        "version": _VERSION,
    },
)
CERTIFICATE_STATE_V1 = _object(
    ["id", "tenant_id", "serial_number", "device_id", "version"],
    {
        "id": _UUID,
        "tenant_id": _UUID,
        "serial_number": {"type": "string"},
        "device_id": {},
        "version": _VERSION,
    },
)
CERTIFICATE_STATE = _object(
    ["id", "tenant_id", "serial_number", "device_id", "status", "version"],
    {
        "version": _VERSION,
        "id": _UUID,
        "tenant_id": _UUID,
        "serial_number": {"type": "string"},
        "device_id": {},
        "status": {"enum": ["active", "revoked"]},
    },
)

# (event_name, event_version, kind, payload schema, state schema, upcaster)
EVENT_TYPES: list[tuple[str, int, str, Any, Any, str | None]] = [
    (
        "DeviceRegistered",
        1,
        "Device",
        _object(["performed_by", "name"], {"performed_by": _ACTOR, "name": {"type": "string"}}),
        DEVICE_STATE,
        None,
    ),
    (
        "DeviceRenamed",
        1,
        "Device",
        _object(["performed_by", "name"], {"performed_by": _ACTOR, "name": {"type": "string"}}),
        DEVICE_STATE,
        None,
    ),
    (
        "DeviceDecommissioned",
        1,
        "Device",
        _object(["performed_by"], {"performed_by": _ACTOR}),
        DEVICE_STATE,
        None,
    ),
    (
        "CertificateIssued",
        1,
        "Certificate",
        _object(
            ["performed_by", "serial", "device"],
            {"performed_by": _ACTOR, "serial": {"type": "string"}, "device": {}},
        ),
        CERTIFICATE_STATE_V1,
        "certificate_issued_v1_to_v2",
    ),
    (
        "CertificateIssued",
        2,
        "Certificate",
        _object(
            ["performed_by", "serial", "device_id"],
            {"performed_by": _ACTOR, "serial": {"type": "string"}, "device_id": {}},
        ),
        CERTIFICATE_STATE,
        None,
    ),
    (
        "CertificateBound",
        1,
        "Certificate",
        _object(["performed_by", "device_id"], {"performed_by": _ACTOR, "device_id": _UUID}),
        CERTIFICATE_STATE_V1,
        "certificate_bound_v1_to_v2",
    ),
    (
        "CertificateBound",
        2,
        "Certificate",
        _object(
            ["performed_by", "device_id", "reason"],
            {"performed_by": _ACTOR, "device_id": _UUID, "reason": {"type": "string"}},
        ),
        CERTIFICATE_STATE,
        None,
    ),
    (
        "CertificateRevoked",
        1,
        "Certificate",
        _object(["performed_by"], {"performed_by": _ACTOR}),
        CERTIFICATE_STATE,
        None,
    ),
]


def at(day: str) -> datetime.datetime:
    """Midnight UTC of an ISO date: the fixture's history happens on known days."""
    return datetime.datetime.fromisoformat(f"{day}T00:00:00+00:00")


def write_config(folder: Path, text: str = CONFIG) -> Config:
    path = folder / "quality-attributes.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


class EventWriter:
    """Writes aggregates the way a correct service does: row and event in one transaction,
    the state taken from the row the statement returned, the next version."""

    def __init__(self, conn: psycopg.Connection[Any], config: Config) -> None:
        self.conn = conn
        self.config = config
        self.aggregates = {a.table: a for a in aggregate_tables(config)}

    def create(
        self,
        table: str,
        tenant: UUID,
        aggregate_id: UUID,
        values: Mapping[str, Any],
        event_name: str,
        payload: Mapping[str, Any],
        when: datetime.datetime,
        **options: Any,
    ) -> None:
        aggregate = self.aggregates[table]
        columns = {"tenant_id": tenant, "id": aggregate_id, **values, "version": 1}
        statement = sql.SQL(
            "INSERT INTO {table} AS t ({columns}) VALUES ({values}) RETURNING t.version, {state}"
        ).format(
            table=sql.Identifier(SCHEMA, table),
            columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
            values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
            state=aggregate.state_expression(sql.Identifier("t")),
        )
        with self.conn.transaction():
            version, state = self.conn.execute(statement, list(columns.values())).fetchone()  # type: ignore[misc]
            self._event(table, tenant, aggregate_id, version, state, event_name, payload, when, **options)

    def change(
        self,
        table: str,
        tenant: UUID,
        aggregate_id: UUID,
        values: Mapping[str, Any],
        event_name: str,
        payload: Mapping[str, Any],
        when: datetime.datetime,
        **options: Any,
    ) -> None:
        aggregate = self.aggregates[table]
        statement = sql.SQL(
            "UPDATE {table} AS t SET {changes}, version = t.version + 1"
            " WHERE t.tenant_id = %s AND t.id = %s RETURNING t.version, {state}"
        ).format(
            table=sql.Identifier(SCHEMA, table),
            changes=sql.SQL(", ").join(
                sql.SQL("{} = %s").format(sql.Identifier(column)) for column in values
            ),
            state=aggregate.state_expression(sql.Identifier("t")),
        )
        with self.conn.transaction():
            version, state = self.conn.execute(statement, [*values.values(), tenant, aggregate_id]).fetchone()  # type: ignore[misc]
            self._event(table, tenant, aggregate_id, version, state, event_name, payload, when, **options)

    def delete(
        self,
        table: str,
        tenant: UUID,
        aggregate_id: UUID,
        event_name: str,
        payload: Mapping[str, Any],
        when: datetime.datetime,
    ) -> None:
        aggregate = self.aggregates[table]
        statement = sql.SQL(
            "DELETE FROM {table} AS t WHERE t.tenant_id = %s AND t.id = %s RETURNING t.version, {state}"
        ).format(table=sql.Identifier(SCHEMA, table), state=aggregate.state_expression(sql.Identifier("t")))
        with self.conn.transaction():
            version, state = self.conn.execute(statement, [tenant, aggregate_id]).fetchone()  # type: ignore[misc]
            self._event(table, tenant, aggregate_id, version + 1, state, event_name, payload, when)

    def _event(
        self,
        table: str,
        tenant: UUID,
        aggregate_id: UUID,
        version: int,
        state: Any,
        event_name: str,
        payload: Mapping[str, Any],
        when: datetime.datetime,
        *,
        event_version: int | None = None,
        stored_state: Any = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO pki.domain_event (tenant_id, kind, aggregate_id, version, event_name,"
            " event_version, state, payload, event_at)"
            " VALUES (%s, %s, %s, %s, %s, coalesce(%s, (SELECT max(t.event_version)"
            " FROM pki.event_types AS t WHERE t.event_name = %s), 1), %s, %s, %s)",
            (
                tenant,
                self.aggregates[table].kind,
                aggregate_id,
                version,
                event_name,
                event_version,
                event_name,
                Jsonb(stored_state if stored_state is not None else state),
                Jsonb(dict(payload)),
                when,
            ),
        )


def build(url: str, config: Config) -> None:
    """The schema, its event table and catalogue, and a clean history."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(TABLES)
        (event_schema,) = event_schemas(config)
        conn.execute(
            render_ddl(
                conn,
                "event_table.sql",
                event_table=event_schema.event_table_sql(),
                tenant=sql.Identifier("tenant_id"),
                setting=sql.Literal("app.tenant_id"),
                point_in_time_index=sql.Identifier("domain_event_point_in_time"),
            )
        )
        conn.execute(render_ddl(conn, "event_types_table.sql", event_types=event_schema.event_types_sql()))
        for name, version, kind, payload_schema, state_schema, upcaster in EVENT_TYPES:
            conn.execute(
                "INSERT INTO pki.event_types VALUES (%s, %s, %s, %s, %s, %s)",
                (name, version, kind, Jsonb(payload_schema), Jsonb(state_schema), upcaster),
            )
        seed(EventWriter(conn, config))
        conn.execute("ANALYZE")


def seed(writer: EventWriter) -> None:
    devices, certificates = "devices", "certificates"
    writer.create(
        devices,
        TENANT_A,
        DEVICE_1,
        {"name": "scanner", "registered_at": at("2026-01-01")},
        "DeviceRegistered",
        {"performed_by": "alice", "name": "scanner"},
        at("2026-01-01"),
    )
    writer.create(
        devices,
        TENANT_B,
        DEVICE_2,
        {"name": "till", "registered_at": at("2026-01-15")},
        "DeviceRegistered",
        {"performed_by": "bob", "name": "till"},
        at("2026-01-15"),
    )
    writer.create(
        devices,
        TENANT_A,
        DEVICE_3,
        {"name": "old printer", "registered_at": at("2026-01-20")},
        "DeviceRegistered",
        {"performed_by": "alice", "name": "old printer"},
        at("2026-01-20"),
    )
    writer.create(
        devices,
        TENANT_A,
        DEVICE_4,
        {"name": "kiosk", "registered_at": at("2026-01-10")},
        "DeviceRegistered",
        {"performed_by": "alice", "name": "kiosk"},
        at("2026-01-10"),
    )
    writer.change(
        devices,
        TENANT_A,
        DEVICE_1,
        {"name": "front scanner"},
        "DeviceRenamed",
        {"performed_by": "carol", "name": "front scanner"},
        at("2026-02-01"),
    )
    writer.change(
        devices,
        TENANT_A,
        DEVICE_1,
        {"name": "lobby scanner"},
        "DeviceRenamed",
        {"performed_by": "carol", "name": "lobby scanner"},
        at("2026-03-01"),
    )
    writer.delete(
        devices, TENANT_A, DEVICE_3, "DeviceDecommissioned", {"performed_by": "alice"}, at("2026-02-20")
    )
    # Written before CertificateIssued v2 existed: v1 payload and v1 state (no status).
    for cert, serial, day in ((CERT_1, "1001", "2026-01-02"), (CERT_3, "1003", "2026-01-03")):
        writer.create(
            certificates,
            TENANT_A,
            cert,
            {
                "serial": serial,
                "device_id": DEVICE_1,
                "status": "active",
                "private_key_ref": f"vault:{serial}",
            },
            "CertificateIssued",
            {"performed_by": "alice", "serial": serial, "device": str(DEVICE_1)},
            at(day),
            event_version=1,
            stored_state={
                "id": str(cert),
                "tenant_id": str(TENANT_A),
                "serial_number": serial,
                "device_id": str(DEVICE_1),
                "version": 1,
            },
        )
    writer.change(
        certificates,
        TENANT_A,
        CERT_3,
        {"device_id": DEVICE_4},
        "CertificateBound",
        {"performed_by": "alice", "device_id": str(DEVICE_4)},
        at("2026-04-01"),
        event_version=1,
        stored_state={
            "id": str(CERT_3),
            "tenant_id": str(TENANT_A),
            "serial_number": "1003",
            "device_id": str(DEVICE_4),
            "version": 2,
        },
    )
    writer.create(
        certificates,
        TENANT_A,
        CERT_2,
        {"serial": "1002", "device_id": DEVICE_1, "status": "active", "private_key_ref": "vault:1002"},
        "CertificateIssued",
        {"performed_by": "alice", "serial": "1002", "device_id": str(DEVICE_1)},
        at("2026-03-05"),
    )
    writer.change(
        certificates,
        TENANT_A,
        CERT_2,
        {"device_id": DEVICE_4},
        "CertificateBound",
        {"performed_by": "dave", "device_id": str(DEVICE_4), "reason": "moved"},
        at("2026-05-01"),
    )
    writer.change(
        certificates,
        TENANT_A,
        CERT_2,
        {"status": "revoked"},
        "CertificateRevoked",
        {"performed_by": "erin"},
        at("2026-07-01"),
    )


def add_filler_events(url: str, count: int) -> None:
    """Other aggregates' events, so that the planner has a real choice to make."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO pki.domain_event (tenant_id, kind, aggregate_id, version, event_name,"
            " event_version, state, payload, event_at)"
            " SELECT %s, 'Device', ('00000000-0000-4000-8000-' || lpad((g / 50)::text, 12, '0'))::uuid,"
            " g %% 50 + 1, 'DeviceRenamed', 1, '{}', '{\"performed_by\": \"filler\"}',"
            " timestamptz '2026-01-01' + g * interval '1 minute'"
            " FROM generate_series(0, %s - 1) AS g",
            (TENANT_A, count),
        )
        conn.execute("ANALYZE pki.domain_event")
