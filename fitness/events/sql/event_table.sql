CREATE TABLE {event_table} (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    {tenant} uuid NOT NULL,
    kind text NOT NULL,
    aggregate_id uuid NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    event_name text NOT NULL,
    event_version integer NOT NULL CHECK (event_version > 0),
    state jsonb NOT NULL,
    payload jsonb NOT NULL,
    event_at timestamptz NOT NULL DEFAULT now(),
    tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY ({tenant}, id),
    UNIQUE (kind, aggregate_id, version)
);
CREATE INDEX {point_in_time_index} ON {event_table} (kind, aggregate_id, event_at);
ALTER TABLE {event_table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {event_table} FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON {event_table}
    USING ({tenant} = (SELECT NULLIF(current_setting({setting}, true), '')::uuid))
    WITH CHECK ({tenant} = (SELECT NULLIF(current_setting({setting}, true), '')::uuid));
