-- Every relation of the service schemas that has the tenant column: tables,
-- partitions (queried directly they apply their own policies), views,
-- materialized views and foreign tables (read-only targets of the probe).
SELECT c.oid,
       n.nspname AS schema_name,
       c.relname AS table_name,
       format('%%I.%%I', n.nspname, c.relname) AS table_sql,
       c.relkind::text AS kind,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       format_type(a.atttypid, a.atttypmod) AS column_type,
       EXISTS (
           SELECT FROM pg_index i
           WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum
       ) AS tenant_index
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a
  ON a.attrelid = c.oid AND a.attname = %(column)s AND a.attnum > 0 AND NOT a.attisdropped
WHERE n.nspname = ANY (%(schemas)s::text[])
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
ORDER BY n.nspname, c.relname
