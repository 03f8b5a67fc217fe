CREATE TABLE {event_types} (
    event_name text NOT NULL,
    event_version integer NOT NULL CHECK (event_version > 0),
    kind text NOT NULL,
    payload_schema jsonb NOT NULL,
    state_schema jsonb NOT NULL,
    upcaster text,
    PRIMARY KEY (event_name, event_version)
);
