-- Row-level security policies on the wanted tables, with their expressions as text.
SELECT wanted.schema_name,
       wanted.table_name,
       p.policyname::text AS policy_name,
       p.cmd AS command,
       p.permissive = 'PERMISSIVE' AS is_permissive,
       p.qual AS using_expression,
       p.with_check AS check_expression
FROM unnest(%(schemas)s::text[], %(tables)s::text[]) AS wanted(schema_name, table_name)
JOIN pg_catalog.pg_policies AS p
  ON p.schemaname = wanted.schema_name AND p.tablename = wanted.table_name
ORDER BY wanted.schema_name, wanted.table_name, p.policyname
