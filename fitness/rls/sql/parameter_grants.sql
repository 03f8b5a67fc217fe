-- Grants of SET or ALTER SYSTEM on configuration parameters (GRANT SET ON PARAMETER,
-- PostgreSQL 15+), e.g. session_replication_role, which switches off foreign-key
-- and user triggers. pg_parameter_acl is cluster-wide: kept are grants to PUBLIC,
-- to declared roles, and to roles a non-superuser that can reach a service schema
-- holds the privileges of. SET on a parameter every user may set anyway grants nothing.
-- Parameters: schemas (text[]), declared_roles (text[]).
SELECT
    pa.parname AS parameter,
    acl.privilege_type AS privilege,
    CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(acl.grantee) END AS grantee,
    CASE WHEN acl.grantee = 0 THEN 'PUBLIC'
         ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(acl.grantee)) END AS quoted_grantee
FROM pg_catalog.pg_parameter_acl AS pa
CROSS JOIN LATERAL pg_catalog.aclexplode(pa.paracl) AS acl
LEFT JOIN pg_catalog.pg_roles AS g ON g.oid = acl.grantee
LEFT JOIN pg_catalog.pg_settings AS s ON s.name = pa.parname
WHERE NOT coalesce(g.rolsuper, false)
  AND NOT (acl.privilege_type = 'SET' AND s.context = 'user')
  AND (
      acl.grantee = 0
      OR g.rolname = ANY (%(declared_roles)s::text[])
      OR EXISTS (
          SELECT 1
          FROM pg_catalog.pg_roles AS r
          JOIN pg_catalog.pg_namespace AS n ON n.nspname = ANY (%(schemas)s::text[])
          WHERE NOT r.rolsuper
            AND pg_catalog.pg_has_role(r.oid, acl.grantee, 'USAGE')
            AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')
      )
  )
ORDER BY parameter, grantee, privilege
