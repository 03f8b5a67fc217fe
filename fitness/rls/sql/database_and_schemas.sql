-- The database under check, the tenant column quoted as SQL needs it (for the fixes
-- given in hints), and which of the service schemas exist.
-- Parameters: tenant_column (text), schemas (text[]).
SELECT
    pg_catalog.current_database()::text AS database,
    pg_catalog.quote_ident(%(tenant_column)s) AS quoted_column,
    ARRAY(
        SELECT n.nspname::text
        FROM pg_catalog.pg_namespace AS n
        WHERE n.nspname = ANY (%(schemas)s::text[])
        ORDER BY 1
    ) AS existing_schemas
