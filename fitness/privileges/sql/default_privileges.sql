-- Default privileges (ALTER DEFAULT PRIVILEGES) on tables and sequences: what
-- future objects will grant, and in which service schemas. An entry for one
-- schema applies there; a global entry applies wherever its role may create.
SELECT d.defaclrole AS creator_oid,
       n.nspname AS schema_name,
       d.defaclobjtype::text AS object_type,
       acl.grantee AS grantee_oid,
       acl.privilege_type AS privilege,
       ARRAY(
           SELECT s.nspname
           FROM pg_namespace s
           WHERE s.nspname = ANY (%(service_schemas)s::text[])
             AND (s.oid = d.defaclnamespace
                  OR (d.defaclnamespace = 0
                      AND has_schema_privilege(d.defaclrole, s.oid, 'CREATE')))
           ORDER BY s.nspname
       ) AS target_schemas
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace
CROSS JOIN LATERAL aclexplode(d.defaclacl) acl
WHERE d.defaclobjtype IN ('r', 'S')
  AND acl.grantee <> d.defaclrole
