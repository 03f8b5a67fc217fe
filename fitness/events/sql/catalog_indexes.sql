-- Every index on the wanted tables with its key columns in order
-- (NULL for an expression column; INCLUDE columns left out).
SELECT wanted.schema_name,
       wanted.table_name,
       i.relname::text AS index_name,
       am.amname::text AS method,
       x.indisunique AS is_unique,
       x.indisprimary AS is_primary,
       x.indisvalid AS is_valid,
       x.indpred IS NOT NULL AS is_partial,
       ARRAY(
           SELECT a.attname::text
           FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, position)
           LEFT JOIN pg_catalog.pg_attribute AS a
                  ON a.attrelid = x.indrelid AND a.attnum = k.attnum AND k.attnum > 0
           WHERE k.position <= x.indnkeyatts
           ORDER BY k.position
       ) AS key_columns
FROM unnest(%(schemas)s::text[], %(tables)s::text[]) AS wanted(schema_name, table_name)
JOIN pg_catalog.pg_namespace AS n ON n.nspname = wanted.schema_name
JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = wanted.table_name
JOIN pg_catalog.pg_index AS x ON x.indrelid = c.oid
JOIN pg_catalog.pg_class AS i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_am AS am ON am.oid = i.relam
ORDER BY wanted.schema_name, wanted.table_name, i.relname
