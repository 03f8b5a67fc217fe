-- Every relation rls-coverage judges: tables, partitioned tables, foreign tables and
-- materialized views in the service schemas, and every partition and inheritance
-- descendant of those, wherever it lives. One row per relation, with what the
-- judgement needs: row-level security flags, the tenant column, its index, and
-- whether the table's owner escapes its policies.
-- Parameters: schemas (text[]), tenant_column (text).
WITH RECURSIVE in_schemas AS (
    SELECT c.oid
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY (%(schemas)s::text[])
      AND c.relkind IN ('r', 'p', 'f', 'm')
), descendants AS (
    SELECT i.inhrelid AS oid
    FROM pg_catalog.pg_inherits AS i
    JOIN in_schemas AS s ON s.oid = i.inhparent
    UNION
    SELECT i.inhrelid
    FROM pg_catalog.pg_inherits AS i
    JOIN descendants AS d ON d.oid = i.inhparent
), scope AS (
    SELECT oid FROM in_schemas
    UNION
    SELECT oid FROM descendants
)
SELECT
    c.oid,
    n.nspname AS schema,
    c.relname AS name,
    pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS qualified,
    c.relkind::text AS kind,
    n.nspname = ANY (%(schemas)s::text[]) AS in_service_schema,
    c.relispartition AS is_partition,
    parent.inhparent AS parent_oid,
    c.relrowsecurity AS rls_enabled,
    c.relforcerowsecurity AS rls_forced,
    pg_catalog.pg_get_userbyid(c.relowner) AS owner,
    a.attnum IS NOT NULL AS has_tenant_column,
    pg_catalog.format_type(a.atttypid, a.atttypmod) AS tenant_column_type,
    coalesce(a.atttypid = 'pg_catalog.uuid'::pg_catalog.regtype
             OR t.typbasetype = 'pg_catalog.uuid'::pg_catalog.regtype, false) AS tenant_column_is_uuid,
    -- PostgreSQL 18 can hold a NOT NULL constraint NOT VALID: attnotnull is then true
    -- while NULLs may remain; earlier versions have no contype 'n' rows at all.
    coalesce(a.attnotnull AND NOT EXISTS (
        SELECT 1
        FROM pg_catalog.pg_constraint AS nn
        WHERE nn.conrelid = c.oid AND nn.contype = 'n' AND NOT nn.convalidated
          AND a.attnum = ANY (nn.conkey)
    ), false) AS tenant_column_not_null,
    coalesce(EXISTS (
        SELECT 1
        FROM pg_catalog.pg_index AS x
        WHERE x.indrelid = c.oid AND x.indkey[0] = a.attnum
          AND x.indisvalid AND x.indisready AND x.indpred IS NULL
    ), false) AS has_tenant_index
FROM scope
JOIN pg_catalog.pg_class AS c ON c.oid = scope.oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_attribute AS a
       ON a.attrelid = c.oid AND a.attname = %(tenant_column)s AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_inherits AS parent ON parent.inhrelid = c.oid AND parent.inhseqno = 1
ORDER BY qualified
