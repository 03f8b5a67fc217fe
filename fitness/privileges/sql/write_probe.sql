-- The write probe: as each service role, really attempt INSERT, UPDATE, DELETE
-- and TRUNCATE on every table of every other service schema, and keep every
-- outcome but SQLSTATE 42501 (insufficient_privilege).
--
-- Created in pg_temp inside a transaction that the caller always rolls back.
-- Privileges are checked before execution, so the statements touch no row:
-- INSERT ... SELECT WHERE false inserts nothing (and evaluates no default),
-- UPDATE/DELETE ... WHERE false match nothing. TRUNCATE, if allowed, empties
-- the table inside a sub-transaction that is undone at once (raising FGUND).
-- Sequences and foreign tables are never probed: nextval and remote writes
-- would survive a rollback.
--
-- Each table is first asked with LOCK TABLE ONLY ... IN ROW EXCLUSIVE MODE,
-- which PostgreSQL refuses (before taking any lock, through the same ACL check
-- as the statements) exactly when the role holds none of INSERT, UPDATE,
-- DELETE, TRUNCATE (or MAINTAIN) on the table itself. Refused, and with no
-- column-level grants on the table, it proves all four refusals at once
-- without opening the table; otherwise the four statements are attempted one
-- by one (UPDATE once per column that has its own ACL).
--
-- A role without USAGE on a schema cannot name any object in it: one attempt
-- on the schema's first table proves the refusal for all of its tables.
CREATE FUNCTION pg_temp.fitgate_write_probe(roles text[], own_schemas text[], schemas text[])
RETURNS TABLE (role_name text, schema_name text, table_name text, table_sql text,
               statement text, sqlstate text, message text, attempts bigint, refused bigint,
               covered_by_schema bigint)
LANGUAGE plpgsql
AS $probe$
#variable_conflict use_column
DECLARE
    service record;
    target record;
    usable oid[];
    probes text[];
    kinds text[];
    col name;
    i int;
    locked boolean;
BEGIN
    -- every table once, with the columns an UPDATE must be tried on: table-level
    -- UPDATE reaches every column alike, a column ACL may differ
    CREATE TEMP TABLE fitgate_write_target ON COMMIT DROP AS
    SELECT n.oid AS schema_oid, n.nspname::text AS nspname, c.relname::text AS relname,
           format('%I.%I', n.nspname, c.relname) AS qualified,
           row_number() OVER (PARTITION BY n.oid ORDER BY c.relname) AS rank_in_schema,
           cols.update_columns,
           cols.column_acls
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL (
        SELECT coalesce(array_agg(a.attname ORDER BY a.attnum)
                            FILTER (WHERE a.attacl IS NOT NULL OR a.first), '{}') AS update_columns,
               bool_or(a.attacl IS NOT NULL) AS column_acls
        FROM (SELECT x.attname, x.attnum, x.attacl,
                     x.attnum = min(x.attnum) OVER () AS first
              FROM pg_attribute x
              WHERE x.attrelid = c.oid AND x.attnum > 0 AND NOT x.attisdropped) a
    ) cols
    WHERE n.nspname = ANY (schemas)
      AND c.relkind IN ('r', 'p');

    FOR service IN
        SELECT s.role_name, s.schema_name
        FROM unnest(roles, own_schemas) AS s(role_name, schema_name)
        WHERE EXISTS (SELECT FROM pg_roles r WHERE r.rolname = s.role_name)
        ORDER BY s.role_name
    LOOP
        role_name := service.role_name;
        attempts := 0;
        refused := 0;
        covered_by_schema := 0;
        usable := ARRAY(SELECT n.oid FROM pg_namespace n
                        WHERE n.nspname = ANY (schemas)
                          AND has_schema_privilege(service.role_name, n.oid, 'USAGE'));
        FOR target IN
            SELECT t.* FROM fitgate_write_target t
            WHERE t.nspname <> service.schema_name
            ORDER BY t.nspname, t.relname
        LOOP
            IF target.rank_in_schema > 1 AND NOT target.schema_oid = ANY (usable) THEN
                covered_by_schema := covered_by_schema + 1;
                CONTINUE;
            END IF;
            IF NOT coalesce(target.column_acls, false) THEN
                locked := true;
                attempts := attempts + 1;
                BEGIN
                    PERFORM set_config('role', service.role_name, true);
                    EXECUTE format('LOCK TABLE ONLY %s IN ROW EXCLUSIVE MODE NOWAIT',
                                   target.qualified);
                    RAISE EXCEPTION USING ERRCODE = 'FGUND';
                EXCEPTION
                    WHEN insufficient_privilege THEN
                        locked := false;
                    WHEN SQLSTATE 'FGUND' OR lock_not_available THEN
                        NULL;  -- the privilege check passed: try each statement
                END;
                IF NOT locked THEN
                    refused := refused + 1;
                    CONTINUE;
                END IF;
            END IF;
            kinds := ARRAY['INSERT'];
            probes := ARRAY[format('INSERT INTO %s SELECT WHERE false', target.qualified)];
            FOREACH col IN ARRAY target.update_columns LOOP
                kinds := kinds || CASE WHEN cardinality(target.update_columns) > 1
                                       THEN format('UPDATE (%s)', col) ELSE 'UPDATE' END;
                probes := probes || format('UPDATE %s SET %I = DEFAULT WHERE false',
                                           target.qualified, col);
            END LOOP;
            kinds := kinds || ARRAY['DELETE', 'TRUNCATE'];
            probes := probes || ARRAY[format('DELETE FROM %s WHERE false', target.qualified),
                                      format('TRUNCATE %s', target.qualified)];
            FOR i IN 1 .. cardinality(probes) LOOP
                attempts := attempts + 1;
                BEGIN
                    PERFORM set_config('role', service.role_name, true);
                    EXECUTE probes[i];
                    RAISE EXCEPTION USING ERRCODE = 'FGUND';
                EXCEPTION
                    WHEN insufficient_privilege THEN
                        refused := refused + 1;
                    WHEN SQLSTATE 'FGUND' THEN
                        RETURN QUERY SELECT service.role_name, target.nspname, target.relname,
                            target.qualified, kinds[i], NULL::text, 'succeeded'::text,
                            NULL::bigint, NULL::bigint, NULL::bigint;
                    WHEN OTHERS THEN
                        RETURN QUERY SELECT service.role_name, target.nspname, target.relname,
                            target.qualified, kinds[i], SQLSTATE::text, SQLERRM::text,
                            NULL::bigint, NULL::bigint, NULL::bigint;
                END;
            END LOOP;
        END LOOP;
        -- the tally of this role: one row without a table
        schema_name := NULL;
        table_name := NULL;
        table_sql := NULL;
        statement := NULL;
        sqlstate := NULL;
        message := NULL;
        RETURN NEXT;
    END LOOP;
END
$probe$
