-- SECURITY DEFINER functions of the service schemas that a judged role can call:
-- EXECUTE held itself, through a role it can use, or by PUBLIC (the default
-- when the function's ACL was never changed), and USAGE on the schema. Such a
-- function runs with its owner's rights: whatever it writes, its caller writes.
WITH judged AS (
    SELECT j.subject, j.role, j.own_schema
    FROM unnest(%(subjects)s::oid[], %(reachable)s::oid[], %(own_schemas)s::text[])
         AS j(subject, role, own_schema)
), definer AS (
    SELECT p.oid, n.oid AS schema_oid, n.nspname, p.proname, p.proowner,
           pg_get_function_identity_arguments(p.oid) AS arguments,
           coalesce(p.proacl, acldefault('f', p.proowner)) AS acl
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY (%(service_schemas)s::text[])
      AND p.prosecdef
)
SELECT DISTINCT ON (j.subject, d.oid)
       j.subject AS subject_oid,
       acl.grantee AS grantee_oid,
       d.nspname AS schema_name,
       format('%%s.%%s(%%s)', d.nspname, d.proname, d.arguments) AS function_name,
       format('%%I.%%I(%%s)', d.nspname, d.proname, d.arguments) AS function_sql,
       d.proowner AS owner_oid
FROM definer d
CROSS JOIN LATERAL aclexplode(d.acl) acl
JOIN judged j
  ON (acl.grantee = j.role OR (acl.grantee = 0 AND j.role = j.subject))
WHERE acl.privilege_type = 'EXECUTE'
  AND acl.grantee <> d.proowner
  AND d.nspname IS DISTINCT FROM j.own_schema
  AND has_schema_privilege(j.subject, d.schema_oid, 'USAGE')
ORDER BY j.subject, d.oid, acl.grantee = 0, acl.grantee
