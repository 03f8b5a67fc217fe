-- Privileges on the service schemas and on the relations and columns in them,
-- read from the ACLs that exist (aclexplode) rather than asked of
-- has_table_privilege for every role x object x privilege.
--
-- One row per (subject, grantee, object, privilege, table- or column-level):
-- subject is a judged role that holds the privilege itself or through a role it
-- can use (pairs given in %(subjects)s / %(reachable)s); grants to PUBLIC come
-- once, with a NULL subject. A subject's own service schema is left out, and
-- SELECT only matters for service roles (the read contract judges them alone).
WITH judged AS (
    SELECT j.subject, j.role, j.own_schema
    FROM unnest(%(subjects)s::oid[], %(reachable)s::oid[], %(own_schemas)s::text[])
         AS j(subject, role, own_schema)
), service_schema AS (
    SELECT n.oid, n.nspname, n.nspowner, n.nspacl
    FROM pg_namespace n
    WHERE n.nspname = ANY (%(service_schemas)s::text[])
), relation AS (
    SELECT c.oid, s.nspname, c.relname, c.relkind, c.relowner, c.relacl, c.relispartition
    FROM pg_class c
    JOIN service_schema s ON s.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
), granted AS (
    -- the owner's own entries are left out: ownership is judged on its own
    SELECT rel.oid AS relid, rel.nspname, rel.relkind::text AS kind, acl.grantee,
           acl.privilege_type, NULL::smallint AS attnum, NULL::name AS attname
    FROM relation rel
    CROSS JOIN LATERAL aclexplode(rel.relacl) acl
    WHERE acl.grantee <> rel.relowner
  UNION ALL
    -- column-level grants: invisible to has_table_privilege
    SELECT rel.oid, rel.nspname, rel.relkind::text, acl.grantee, acl.privilege_type,
           att.attnum, att.attname
    FROM relation rel
    CROSS JOIN LATERAL (
        SELECT a.attnum, a.attname, a.attacl
        FROM pg_attribute a
        WHERE a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
          AND a.attacl IS NOT NULL
    ) att
    CROSS JOIN LATERAL aclexplode(att.attacl) acl
    WHERE acl.grantee <> rel.relowner
  UNION ALL
    -- CREATE on a schema lets a role add objects that it then owns
    SELECT NULL, s.nspname, 'n', acl.grantee, acl.privilege_type, NULL, NULL
    FROM service_schema s
    CROSS JOIN LATERAL aclexplode(s.nspacl) acl
    WHERE acl.grantee <> s.nspowner AND acl.privilege_type = 'CREATE'
), held AS (
    SELECT j.subject, g.*
    FROM granted g
    JOIN judged j ON j.role = g.grantee
    WHERE g.nspname IS DISTINCT FROM j.own_schema
      AND (g.privilege_type <> 'SELECT' OR (j.own_schema IS NOT NULL AND g.kind <> 'S'))
  UNION ALL
    SELECT NULL, g.*
    FROM granted g
    WHERE g.grantee = 0
      AND (g.privilege_type <> 'SELECT' OR g.kind <> 'S')
)
SELECT held.subject AS subject_oid,
       held.grantee AS grantee_oid,
       held.kind,
       held.nspname AS schema_name,
       coalesce(rel.relname, held.nspname) AS object_name,
       CASE WHEN rel.oid IS NULL THEN quote_ident(held.nspname)
            ELSE format('%%I.%%I', held.nspname, rel.relname) END AS object_sql,
       root.schema_name AS root_schema,
       root.table_name AS root_name,
       held.privilege_type AS privilege,
       array_agg(held.attname ORDER BY held.attnum) FILTER (WHERE held.attnum IS NOT NULL)
           AS columns,
       array_agg(quote_ident(held.attname) ORDER BY held.attnum)
           FILTER (WHERE held.attnum IS NOT NULL) AS columns_sql
FROM held
LEFT JOIN relation rel ON rel.oid = held.relid
LEFT JOIN LATERAL (
    SELECT rn.nspname AS schema_name, rc.relname AS table_name
    FROM pg_class rc
    JOIN pg_namespace rn ON rn.oid = rc.relnamespace
    WHERE rel.relispartition AND rc.oid = pg_partition_root(rel.oid)
    OFFSET 0
) root ON true
GROUP BY held.subject, held.grantee, held.kind, held.nspname, rel.oid, rel.relname,
         root.schema_name, root.table_name, held.privilege_type, held.attnum IS NULL
