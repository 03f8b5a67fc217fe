-- Unique indexes (primary keys and unique constraints included) of tenant tables
-- whose key columns leave the tenant column out: a duplicate-key error then tells
-- one tenant that another tenant holds a value. An index attached to a partitioned
-- parent's index is left to the parent's row.
-- Parameters: tenant_relations (oid[]), tenant_column (text).
SELECT
    x.indrelid AS relation_oid,
    pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(i.relname) AS index_name,
    pg_catalog.quote_ident(i.relname) AS index_local_name,
    pg_catalog.quote_ident(con.conname) AS constraint_name,
    con.contype::text AS constraint_kind,
    ARRAY(
        SELECT pg_catalog.pg_get_indexdef(x.indexrelid, k, true)
        FROM generate_series(1, x.indnkeyatts) AS k
        ORDER BY k
    ) AS key_columns,
    pg_catalog.pg_get_expr(x.indpred, x.indrelid, true) AS index_predicate
FROM unnest(%(tenant_relations)s::oid[]) AS judged(oid)
JOIN pg_catalog.pg_index AS x ON x.indrelid = judged.oid
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_namespace AS n ON n.oid = i.relnamespace
JOIN pg_catalog.pg_attribute AS a
  ON a.attrelid = x.indrelid AND a.attname = %(tenant_column)s AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_constraint AS con
       ON con.conindid = x.indexrelid AND con.conrelid = x.indrelid AND con.contype IN ('p', 'u')
WHERE x.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits AS up WHERE up.inhrelid = x.indexrelid)
  AND NOT EXISTS (
      SELECT 1 FROM generate_series(0, x.indnkeyatts - 1) AS k WHERE x.indkey[k] = a.attnum
  )
ORDER BY relation_oid, index_name
