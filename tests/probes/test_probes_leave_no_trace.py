"""The probes run against real data and leave none of what they did behind.

The platform is broken so that the probes' writes succeed (a policy that lets
rows move, TRUNCATE granted to another service, a trigger that would write
elsewhere and draw from a sequence), and empty tables get seeded (one with a
serial column and a default that draws from no sequence). Row
counts, a checksum of every row and every sequence are the same afterwards.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

RELATIONS = """
SELECT n.nspname, c.relname, c.relkind = 'S'
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ('directory', 'license') AND c.relkind IN ('r', 'S')
ORDER BY 1, 2
"""

BREAK_EVERYTHING = """
CREATE SEQUENCE license.side_effects;
CREATE FUNCTION license.on_license_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('license.side_effects');
    INSERT INTO directory.audit_log (tenant_id, note) VALUES (NEW.tenant_id, 'changed');
    RETURN NEW;
END $$;
CREATE TRIGGER audit AFTER INSERT OR UPDATE ON license.licenses
    FOR EACH ROW EXECUTE FUNCTION license.on_license_change();
DROP POLICY tenant_isolation ON license.licenses;
CREATE POLICY wide_open ON license.licenses USING (true) WITH CHECK (true);
CREATE TABLE directory.notes (
    tenant_id uuid NOT NULL,
    id serial,
    written_by xid8 NOT NULL DEFAULT pg_current_xact_id(),
    body text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
ALTER TABLE directory.notes ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY open ON directory.notes USING (true);
GRANT SELECT, INSERT, UPDATE ON directory.notes TO {p}_directory_service;
GRANT USAGE ON SCHEMA license TO {p}_directory_service;
GRANT INSERT, UPDATE, DELETE, TRUNCATE ON license.licenses TO {p}_directory_service;
"""


def snapshot(url):
    """Every table's row count and checksum, every sequence's position."""
    state = {}
    with psycopg.connect(url) as conn:
        for schema, name, is_sequence in conn.execute(RELATIONS).fetchall():
            relation = sql.Identifier(schema, name)
            query = (
                sql.SQL("SELECT last_value, is_called FROM {}").format(relation)
                if is_sequence
                else sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {} t"
                ).format(relation)
            )
            state[f"{schema}.{name}"] = conn.execute(query).fetchone()
    return state


def test_nothing_the_probes_do_survives(service_platform):
    service_platform.sql(BREAK_EVERYTHING)
    before = snapshot(service_platform.url)
    assert {"license.side_effects", "directory.audit_log_id_seq", "directory.notes_id_seq"} <= set(before)

    isolation = service_platform.run("tenant-isolation-probe")
    ownership = service_platform.run("write-ownership")

    # the probes really wrote: rows moved and inserted, TRUNCATE not refused, a table seeded
    isolation_messages = " ".join(service_platform.messages(isolation))
    assert "moving a row of license.licenses to another tenant" in isolation_messages
    assert "inserting a row of another tenant into license.licenses succeeded" in isolation_messages
    assert any("seeded tenant rows (rolled back) into 2 table(s)" in note for note in isolation.notes)
    assert "directory.notes" in service_platform.subjects(isolation)
    assert any("confirmed" in note for note in ownership.notes)

    assert snapshot(service_platform.url) == before
