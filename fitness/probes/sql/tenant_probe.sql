-- The tenant-isolation probe, created in pg_temp inside a transaction that the
-- caller always rolls back; one call runs every check of every role on every
-- table, each statement in its own sub-transaction (a BEGIN ... EXCEPTION
-- block), so that one failure never ends the probe and every write is undone
-- at once by raising FGUND.
--
-- 1. Tenants: for each table, the smallest (A) and largest (B) tenant in the
--    data. A table with fewer than two tenants gets rows seeded for the
--    missing ones: a copy of an existing row, else a made-up row. No sequence
--    is ever drawn from (nextval survives a rollback): identity and serial
--    columns are given values, only defaults without nextval are used.
-- 2. With no tenant set: run for every (role, table) before the setting is
--    ever touched in this session (once set, even in an undone
--    sub-transaction, it reads as '' until the session ends). SQLSTATE 42501
--    here means the role cannot read the table: the later checks skip it.
-- 3. For each readable (role, table): with an empty tenant; with tenant A
--    (no row of another tenant visible); moving a row of A to B; inserting a
--    row of B; and, on large tables, whether an index path serves the tenant
--    predicate (enable_seqscan off). Triggers and foreign keys are off
--    (session_replication_role = replica): only privileges, row-level security
--    and constraints answer, and no trigger reaches outside the transaction.
--
-- Returns one row per outcome: (role, table, check, outcome, detail).
CREATE FUNCTION pg_temp.fitgate_tenant_probe(
    roles text[], tables oid[], tenant_column text, setting text, large_rows real)
RETURNS TABLE (role_name text, table_oid oid, check_name text, outcome text, detail text)
LANGUAGE plpgsql
AS $probe$
#variable_conflict use_column
DECLARE
    t record;
    probed_role text;
    missing text;
    n bigint;
    seen text;
    plan_text text;
    plan jsonb;
    readable boolean;
    a_tenant text;
    b_tenant text;
    a_row jsonb;
    tenants_sql text;
BEGIN
    CREATE TEMP TABLE fitgate_probe_table ON COMMIT DROP AS
    WITH target AS (
        SELECT c.oid FROM pg_class c WHERE c.oid = ANY (tables)
    ), tree AS (  -- each target with its partitions, whose indexes and rows are its own
        SELECT target.oid AS root, target.oid AS relid FROM target
      UNION ALL
        SELECT target.oid, part.relid
        FROM target CROSS JOIN LATERAL pg_partition_tree(target.oid) part
        WHERE part.relid <> target.oid
    ), tree_indexes AS (
        SELECT tree.root, array_agg(quote_ident(ic.relname)) AS names
        FROM tree
        JOIN pg_index i ON i.indrelid = tree.relid
        JOIN pg_class ic ON ic.oid = i.indexrelid
        GROUP BY tree.root
    ), tree_rows AS (
        SELECT tree.root, sum(greatest(p.reltuples, 0)) AS estimate
        FROM tree
        JOIN pg_class p ON p.oid = tree.relid
        GROUP BY tree.root
    )
    SELECT c.oid,
           format('%I.%I', ns.nspname, c.relname) AS qualified,
           c.relkind,
           format_type(a.atttypid, a.atttypmod) AS column_type,
           a.atttypid AS column_type_oid,
           (SELECT string_agg(format('%I', x.attname), ', ' ORDER BY x.attnum)
            FROM pg_attribute x
            WHERE x.attrelid = c.oid AND x.attnum > 0 AND NOT x.attisdropped
              AND x.attgenerated = '') AS insert_columns,
           coalesce(tree_rows.estimate, 0) >= large_rows AS large,
           coalesce(tree_indexes.names, '{}') AS index_names,
           NULL::text AS tenant_a,
           NULL::text AS tenant_b,
           NULL::jsonb AS row_a
    FROM target
    JOIN pg_class c ON c.oid = target.oid
    JOIN pg_namespace ns ON ns.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = tenant_column
    LEFT JOIN tree_indexes ON tree_indexes.root = c.oid
    LEFT JOIN tree_rows ON tree_rows.root = c.oid;
    ALTER TABLE fitgate_probe_table ADD PRIMARY KEY (oid);
    CREATE TEMP TABLE fitgate_probe_readable (role_name text, oid oid) ON COMMIT DROP;

    -- 1. Two tenants per table: from the data, else seeded (tables only); views
    --    and the like are read after the seeding, which may show through them.
    tenants_sql := 'SELECT (SELECT %1$I::text FROM %2$s WHERE %1$I IS NOT NULL ORDER BY %1$I LIMIT 1),'
                   ' (SELECT %1$I::text FROM %2$s WHERE %1$I IS NOT NULL ORDER BY %1$I DESC LIMIT 1)';
    FOR t IN SELECT * FROM fitgate_probe_table WHERE relkind IN ('r', 'p') LOOP
        EXECUTE format(tenants_sql, tenant_column, t.qualified) INTO a_tenant, b_tenant;
        UPDATE fitgate_probe_table k
        SET tenant_a = a_tenant, tenant_b = b_tenant
        WHERE k.oid = t.oid;
    END LOOP;
    -- a few tenants of each column type, to seed tables that lack them
    CREATE TEMP TABLE fitgate_probe_known ON COMMIT DROP AS
    SELECT column_type_oid, v
    FROM (SELECT column_type_oid, v, row_number() OVER (PARTITION BY column_type_oid ORDER BY v) AS nth
          FROM (SELECT column_type_oid, tenant_a AS v FROM fitgate_probe_table
                UNION
                SELECT column_type_oid, tenant_b FROM fitgate_probe_table) known
          WHERE v IS NOT NULL) numbered
    WHERE nth <= 3;
    FOR t IN SELECT * FROM fitgate_probe_table ORDER BY relkind IN ('r', 'p') DESC, qualified LOOP
        IF t.relkind IN ('r', 'p') THEN
            a_tenant := t.tenant_a;
            b_tenant := t.tenant_b;
        ELSE
            EXECUTE format(tenants_sql, tenant_column, t.qualified) INTO a_tenant, b_tenant;
        END IF;
        IF t.relkind IN ('r', 'p') AND (a_tenant IS NULL OR a_tenant = b_tenant) THEN
            -- prefer tenants that exist elsewhere: policies may look tenants up
            FOR missing IN
                SELECT known.v FROM (
                    SELECT k.v FROM fitgate_probe_known k
                    WHERE k.column_type_oid = t.column_type_oid
                    ORDER BY k.v
                ) known
                UNION ALL
                SELECT pg_temp.fitgate_new_tenant(t.column_type_oid, 1)
                UNION ALL
                SELECT pg_temp.fitgate_new_tenant(t.column_type_oid, 2)
            LOOP
                EXIT WHEN a_tenant IS NOT NULL AND a_tenant <> b_tenant;
                CONTINUE WHEN missing IS NULL OR missing = a_tenant;
                BEGIN
                    PERFORM pg_temp.fitgate_seed_row(t.oid, tenant_column, t.column_type,
                                                     t.insert_columns, a_tenant, missing);
                    RETURN QUERY SELECT NULL::text, t.oid, 'seed'::text, 'seeded'::text, missing;
                    b_tenant := missing;
                    a_tenant := coalesce(a_tenant, missing);
                EXCEPTION WHEN OTHERS THEN
                    RETURN QUERY SELECT NULL::text, t.oid, 'seed'::text, 'unseedable'::text,
                        format('%s: %s', SQLSTATE, SQLERRM);
                    EXIT;
                END;
            END LOOP;
        END IF;
        a_row := NULL;
        IF a_tenant <> b_tenant AND t.relkind IN ('r', 'p') THEN
            EXECUTE format('SELECT to_jsonb(s) FROM %s s WHERE %I = $1::%s LIMIT 1',
                           t.qualified, tenant_column, t.column_type)
            INTO a_row
            USING a_tenant;
            BEGIN  -- the copy must rebuild as a row of B, or a later failure would mislead
                EXECUTE format('SELECT (jsonb_populate_record(NULL::%s, $1)).*', t.qualified)
                USING a_row || jsonb_build_object(tenant_column, b_tenant);
            EXCEPTION WHEN OTHERS THEN
                RETURN QUERY SELECT NULL::text, t.oid, 'insert B'::text, 'no copy'::text,
                    format('%s: %s', SQLSTATE, SQLERRM);
                a_row := NULL;
            END;
        END IF;
        UPDATE fitgate_probe_table k
        SET tenant_a = a_tenant, tenant_b = b_tenant, row_a = a_row
        WHERE k.oid = t.oid;
        IF a_tenant IS NULL OR a_tenant = b_tenant THEN
            RETURN QUERY SELECT NULL::text, t.oid, 'tenants'::text, 'fewer than two'::text,
                a_tenant;
        ELSE
            RETURN QUERY SELECT NULL::text, t.oid, 'tenants'::text, 'found'::text,
                format('%s, %s', a_tenant, b_tenant);
        END IF;
    END LOOP;

    -- 2. No tenant set at all.
    FOREACH probed_role IN ARRAY roles LOOP
        -- without USAGE on its schema a role cannot name the table at all
        FOR t IN SELECT k.* FROM fitgate_probe_table k
                 JOIN pg_class c ON c.oid = k.oid
                 WHERE has_schema_privilege(probed_role, c.relnamespace, 'USAGE')
                 ORDER BY k.qualified LOOP
            readable := true;
            BEGIN
                PERFORM set_config('role', probed_role, true);
                EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 1) s', t.qualified)
                INTO n;
                RETURN QUERY SELECT probed_role, t.oid, 'no tenant'::text,
                    CASE WHEN n > 0 THEN 'rows' ELSE 'no rows' END, NULL::text;
                RAISE EXCEPTION USING ERRCODE = 'FGUND';
            EXCEPTION
                WHEN SQLSTATE 'FGUND' THEN NULL;
                WHEN insufficient_privilege THEN readable := false;
                WHEN OTHERS THEN
                    RETURN QUERY SELECT probed_role, t.oid, 'no tenant'::text, 'error'::text,
                        format('%s: %s', SQLSTATE, SQLERRM);
            END;
            IF readable THEN
                INSERT INTO fitgate_probe_readable VALUES (probed_role, t.oid);
            END IF;
        END LOOP;
    END LOOP;

    -- 3. The checks that set a tenant, on what each role can read.
    FOR t IN
        SELECT r.role_name AS probed, k.* FROM fitgate_probe_readable r
        JOIN fitgate_probe_table k ON k.oid = r.oid
        ORDER BY r.role_name, k.qualified
    LOOP
        probed_role := t.probed;
        RETURN QUERY SELECT probed_role, t.oid, 'readable'::text, 'yes'::text, NULL::text;

        BEGIN  -- an empty tenant
            PERFORM set_config('role', probed_role, true);
            PERFORM set_config(setting, '', true);
            EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 1) s', t.qualified) INTO n;
            RETURN QUERY SELECT probed_role, t.oid, 'empty tenant'::text,
                CASE WHEN n > 0 THEN 'rows' ELSE 'no rows' END, NULL::text;
            RAISE EXCEPTION USING ERRCODE = 'FGUND';
        EXCEPTION
            WHEN SQLSTATE 'FGUND' THEN NULL;
            WHEN OTHERS THEN
                RETURN QUERY SELECT probed_role, t.oid, 'empty tenant'::text, 'error'::text,
                    format('%s: %s', SQLSTATE, SQLERRM);
        END;

        CONTINUE WHEN t.tenant_a IS NULL OR t.tenant_a = t.tenant_b;

        BEGIN  -- tenant A sees no other tenant's row
            PERFORM set_config('role', probed_role, true);
            PERFORM set_config(setting, t.tenant_a, true);
            EXECUTE format('SELECT coalesce(%1$I::text, ''NULL'') FROM %2$s'
                           ' WHERE %1$I IS DISTINCT FROM $1::%3$s LIMIT 1',
                           tenant_column, t.qualified, t.column_type)
            INTO seen USING t.tenant_a;
            GET DIAGNOSTICS n = ROW_COUNT;
            RETURN QUERY SELECT probed_role, t.oid, 'tenant A'::text,
                CASE WHEN n > 0 THEN 'other tenant' ELSE 'own rows only' END,
                CASE WHEN n > 0 THEN seen END;
            RAISE EXCEPTION USING ERRCODE = 'FGUND';
        EXCEPTION
            WHEN SQLSTATE 'FGUND' THEN NULL;
            WHEN OTHERS THEN
                RETURN QUERY SELECT probed_role, t.oid, 'tenant A'::text, 'error'::text,
                    format('%s: %s', SQLSTATE, SQLERRM);
        END;

        IF t.row_a IS NOT NULL THEN
            -- moving one of tenant A's rows to tenant B. The WHERE clause names no
            -- column: SELECT policies then play no part, only the UPDATE policies'
            -- USING and WITH CHECK, as for an application's UPDATE without WHERE.
            BEGIN
                PERFORM set_config('role', probed_role, true);
                PERFORM set_config(setting, t.tenant_a, true);
                PERFORM set_config('fitgate.first_row', '', true);
                EXECUTE format('UPDATE %s SET %I = $1::%s WHERE pg_temp.fitgate_first_row()',
                               t.qualified, tenant_column, t.column_type)
                USING t.tenant_b;
                GET DIAGNOSTICS n = ROW_COUNT;
                RETURN QUERY SELECT probed_role, t.oid, 'move to B'::text,
                    CASE WHEN n > 0 THEN 'succeeded' ELSE 'touched nothing' END, NULL::text;
                RAISE EXCEPTION USING ERRCODE = 'FGUND';
            EXCEPTION
                WHEN SQLSTATE 'FGUND' THEN NULL;
                WHEN insufficient_privilege THEN
                    RETURN QUERY SELECT probed_role, t.oid, 'move to B'::text, 'refused'::text,
                        SQLERRM::text;
                WHEN lock_not_available OR query_canceled THEN
                    RETURN QUERY SELECT probed_role, t.oid, 'move to B'::text,
                        'inconclusive'::text, format('%s: %s', SQLSTATE, SQLERRM);
                WHEN OTHERS THEN
                    RETURN QUERY SELECT probed_role, t.oid, 'move to B'::text,
                        'failed later'::text, format('%s: %s', SQLSTATE, SQLERRM);
            END;

            BEGIN  -- inserting a row of tenant B as tenant A
                PERFORM set_config('role', probed_role, true);
                PERFORM set_config(setting, t.tenant_a, true);
                EXECUTE format('INSERT INTO %1$s (%2$s) OVERRIDING SYSTEM VALUE'
                               ' SELECT %2$s FROM jsonb_populate_record(NULL::%1$s, $1)',
                               t.qualified, t.insert_columns)
                USING t.row_a || jsonb_build_object(tenant_column, t.tenant_b);
                RETURN QUERY SELECT probed_role, t.oid, 'insert B'::text, 'succeeded'::text,
                    NULL::text;
                RAISE EXCEPTION USING ERRCODE = 'FGUND';
            EXCEPTION
                WHEN SQLSTATE 'FGUND' THEN NULL;
                WHEN insufficient_privilege THEN
                    RETURN QUERY SELECT probed_role, t.oid, 'insert B'::text, 'refused'::text,
                        SQLERRM::text;
                WHEN lock_not_available OR query_canceled THEN
                    RETURN QUERY SELECT probed_role, t.oid, 'insert B'::text,
                        'inconclusive'::text, format('%s: %s', SQLSTATE, SQLERRM);
                WHEN OTHERS THEN
                    RETURN QUERY SELECT probed_role, t.oid, 'insert B'::text,
                        'failed later'::text, format('%s: %s', SQLSTATE, SQLERRM);
            END;
        END IF;

        IF t.large THEN
            BEGIN  -- can an index serve the tenant predicate?
                PERFORM set_config('role', probed_role, true);
                PERFORM set_config(setting, t.tenant_a, true);
                PERFORM set_config('enable_seqscan', 'off', true);
                EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM %s', t.qualified)
                INTO plan_text;
                plan := plan_text::jsonb;
                RETURN QUERY SELECT probed_role, t.oid, 'index'::text,
                    CASE WHEN EXISTS (
                        SELECT FROM jsonb_path_query(plan, 'strict $.** ? (exists(@."Index Cond"))')
                             AS node
                        WHERE node->>'Index Name' = ANY (t.index_names)
                          AND strpos(node->>'Index Cond', quote_ident(tenant_column)) > 0)
                    THEN 'used' ELSE 'not used' END,
                    NULL::text;
                RAISE EXCEPTION USING ERRCODE = 'FGUND';
            EXCEPTION
                WHEN SQLSTATE 'FGUND' THEN NULL;
                WHEN OTHERS THEN
                    RETURN QUERY SELECT probed_role, t.oid, 'index'::text, 'error'::text,
                        format('%s: %s', SQLSTATE, SQLERRM);
            END;
        END IF;
    END LOOP;
END
$probe$;

-- True for the first row it is asked about in a statement, false after: an
-- UPDATE ... WHERE fitgate_first_row() changes one row without naming a column.
-- Row-level security quals run before it, so the row is one the policies let through.
CREATE FUNCTION pg_temp.fitgate_first_row()
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
AS $first$
BEGIN
    IF coalesce(current_setting('fitgate.first_row', true), '') <> '' THEN
        RETURN false;
    END IF;
    PERFORM set_config('fitgate.first_row', 'taken', true);
    RETURN true;
END
$first$;

-- A tenant value that the data does not hold yet, for a column of the given type.
CREATE FUNCTION pg_temp.fitgate_new_tenant(column_type oid, nth int)
RETURNS text
LANGUAGE sql
VOLATILE
AS $new$
    SELECT CASE
        WHEN column_type = 'uuid'::regtype THEN gen_random_uuid()::text
        WHEN column_type IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype,
                             'numeric'::regtype) THEN (2000000000 + nth)::text
        WHEN t.typcategory = 'S' THEN format('fitgate-probe-%s', nth)
    END
    FROM pg_type t
    WHERE t.oid = column_type
$new$;

-- Seed one row of tenant `tenant` into a table, as the superuser with triggers
-- and foreign-key checks off: a copy of a row of tenant `source` when there is
-- one (and the copy breaks no unique constraint), else a made-up row: column
-- defaults that draw from no sequence, NULL where allowed, a sample value else.
CREATE FUNCTION pg_temp.fitgate_seed_row(
    target oid, tenant_column text, column_type text, insert_columns text,
    source text, tenant text)
RETURNS void
LANGUAGE plpgsql
AS $seed$
DECLARE
    copied text;
    made_up text;
BEGIN
    IF source IS NOT NULL THEN
        SELECT string_agg(CASE WHEN a.attname = tenant_column THEN format('$2::%s', column_type)
                               ELSE format('%I', a.attname) END, ', ' ORDER BY a.attnum)
        INTO copied
        FROM pg_attribute a
        WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
        BEGIN
            EXECUTE format('INSERT INTO %1$s (%2$s) OVERRIDING SYSTEM VALUE SELECT %3$s FROM %1$s'
                           ' WHERE %4$I = $1::%5$s LIMIT 1',
                           target::regclass, insert_columns, copied, tenant_column, column_type)
            USING source, tenant;
            RETURN;
        EXCEPTION WHEN unique_violation OR check_violation OR not_null_violation THEN
            NULL;  -- fall through to a made-up row
        END;
    END IF;
    SELECT string_agg(
               CASE WHEN a.attname = tenant_column THEN format('%L::%s', tenant, column_type)
                    -- a default that draws from no sequence leaves nothing behind
                    WHEN d.adbin IS NOT NULL
                         AND pg_get_expr(d.adbin, d.adrelid) !~ 'nextval\(' THEN 'DEFAULT'
                    WHEN NOT (a.attnotnull OR ty.typnotnull) THEN 'NULL'
                    ELSE format('%L::%s', pg_temp.fitgate_sample_value(a.atttypid),
                                format_type(a.atttypid, a.atttypmod))
               END, ', ' ORDER BY a.attnum)
    INTO made_up
    FROM pg_attribute a
    JOIN pg_type ty ON ty.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
    EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE VALUES (%s)',
                   target::regclass, insert_columns, made_up);
END
$seed$;

-- A value of the given type for a NOT NULL column of a made-up row (NULL when
-- no sensible value is known: the seed then fails and the table is reported).
CREATE FUNCTION pg_temp.fitgate_sample_value(value_type oid)
RETURNS text
LANGUAGE sql
VOLATILE
AS $sample$
    WITH RECURSIVE base(oid, depth) AS (  -- a domain's values are its base type's
        SELECT value_type, 0
      UNION ALL
        SELECT t.typbasetype, base.depth + 1
        FROM base JOIN pg_type t ON t.oid = base.oid
        WHERE t.typtype = 'd'
    )
    SELECT CASE
        WHEN t.oid = 'uuid'::regtype THEN gen_random_uuid()::text
        WHEN t.oid IN ('json'::regtype, 'jsonb'::regtype) THEN '{}'
        WHEN t.oid = 'bytea'::regtype THEN '\x'
        WHEN t.oid = 'date'::regtype THEN current_date::text
        WHEN t.oid IN ('time'::regtype, 'timetz'::regtype) THEN '00:00:00'
        WHEN t.oid = 'interval'::regtype THEN '0'
        WHEN t.oid IN ('xid'::regtype, 'xid8'::regtype) THEN '0'
        WHEN t.typcategory = 'D' THEN now()::text
        WHEN t.typcategory = 'N' THEN (floor(random() * 1000000000))::bigint::text
        WHEN t.typcategory = 'S' THEN 'fitgate-' || substr(md5(random()::text), 1, 8)
        WHEN t.typcategory = 'B' THEN 'false'
        WHEN t.typcategory = 'A' THEN '{}'
        WHEN t.typcategory = 'I' THEN '127.0.0.1'
        WHEN t.typtype = 'e' THEN (SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
                                   ORDER BY e.enumsortorder LIMIT 1)
    END
    FROM pg_type t
    WHERE t.oid = (SELECT oid FROM base ORDER BY depth DESC LIMIT 1)
$sample$;
