-- Defaults of the tenant setting from ALTER ROLE / ALTER DATABASE ... SET: a role or
-- database with one starts every session inside a tenant. Kept: settings for this
-- database (or all databases) of the database itself, of declared roles, and of
-- roles that can reach a service schema (pg_db_role_setting is cluster-wide).
-- Parameters: setting (text), schemas (text[]), declared_roles (text[]).
SELECT
    CASE WHEN s.setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(s.setrole) END AS role,
    CASE WHEN s.setrole = 0 THEN NULL
         ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(s.setrole)) END AS quoted_role,
    CASE WHEN s.setdatabase = 0 THEN NULL ELSE pg_catalog.current_database()::text END AS database,
    pg_catalog.quote_ident(pg_catalog.current_database()) AS quoted_database,
    substr(entry, strpos(entry, '=') + 1) AS value
FROM pg_catalog.pg_db_role_setting AS s
CROSS JOIN LATERAL unnest(s.setconfig) AS entry
WHERE s.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database AS d
                            WHERE d.datname = pg_catalog.current_database()))
  AND lower(split_part(entry, '=', 1)) = lower(%(setting)s)
  AND (
      s.setrole = 0
      OR pg_catalog.pg_get_userbyid(s.setrole) = ANY (%(declared_roles)s::text[])
      OR EXISTS (
          SELECT 1
          FROM pg_catalog.pg_namespace AS n
          WHERE n.nspname = ANY (%(schemas)s::text[])
            AND pg_catalog.has_schema_privilege(s.setrole, n.oid, 'USAGE')
      )
  )
ORDER BY role NULLS FIRST
