-- The tables event-completeness relies on: kind, RLS flags and every column.
-- A wanted table that does not exist yields no row.
SELECT wanted.schema_name,
       wanted.table_name,
       c.relkind::text AS relkind,
       c.relrowsecurity AS rls_enabled,
       c.relforcerowsecurity AS rls_forced,
       a.attname::text AS column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS column_type,
       a.attnotnull AS not_null,
       ARRAY(
           SELECT e.enumlabel::text
           FROM pg_catalog.pg_enum AS e
           WHERE e.enumtypid = a.atttypid
           ORDER BY e.enumsortorder
       ) AS enum_labels
FROM unnest(%(schemas)s::text[], %(tables)s::text[]) AS wanted(schema_name, table_name)
JOIN pg_catalog.pg_namespace AS n ON n.nspname = wanted.schema_name
JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = wanted.table_name
LEFT JOIN pg_catalog.pg_attribute AS a
       ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY wanted.schema_name, wanted.table_name, a.attnum
