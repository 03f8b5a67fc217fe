-- Foreign keys from the judged relations to tenant tables that do not pair the two
-- tenant columns: foreign keys ignore row-level security, so such a key lets one
-- tenant reference, and probe for, another tenant's rows. Keys that PostgreSQL
-- clones onto partitions are left to the key they were cloned from.
-- Parameters: relations (oid[]), tenant_relations (oid[]), tenant_column (text).
SELECT
    con.conrelid AS relation_oid,
    con.conname AS name,
    pg_catalog.quote_ident(con.conname) AS quoted_name,
    pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(r.relname) AS referenced,
    ARRAY(
        SELECT pg_catalog.quote_ident(att.attname)
        FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_catalog.pg_attribute AS att ON att.attrelid = con.conrelid AND att.attnum = k.attnum
        ORDER BY k.position
    ) AS columns,
    ARRAY(
        SELECT pg_catalog.quote_ident(att.attname)
        FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, position)
        JOIN pg_catalog.pg_attribute AS att ON att.attrelid = con.confrelid AND att.attnum = k.attnum
        ORDER BY k.position
    ) AS referenced_columns,
    src.attnum IS NOT NULL AS has_tenant_column
FROM unnest(%(relations)s::oid[]) AS judged(oid)
JOIN pg_catalog.pg_constraint AS con ON con.conrelid = judged.oid
JOIN unnest(%(tenant_relations)s::oid[]) AS referenced_tenant_table(oid)
  ON referenced_tenant_table.oid = con.confrelid
JOIN pg_catalog.pg_class AS r ON r.oid = con.confrelid
JOIN pg_catalog.pg_namespace AS rn ON rn.oid = r.relnamespace
JOIN pg_catalog.pg_attribute AS dst
  ON dst.attrelid = con.confrelid AND dst.attname = %(tenant_column)s AND NOT dst.attisdropped
LEFT JOIN pg_catalog.pg_attribute AS src
       ON src.attrelid = con.conrelid AND src.attname = %(tenant_column)s AND NOT src.attisdropped
WHERE con.contype = 'f'
  AND con.conparentid = 0
  AND NOT EXISTS (
      SELECT 1
      FROM generate_subscripts(con.conkey, 1) AS k
      WHERE con.conkey[k] = src.attnum AND con.confkey[k] = dst.attnum
  )
ORDER BY relation_oid, name
