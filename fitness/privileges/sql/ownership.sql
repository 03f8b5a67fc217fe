-- Who owns the service schemas and what is in them, grouped by owner: an owner
-- can grant itself anything, drop the objects and switch row-level security off.
WITH service_schema AS (
    SELECT n.oid, n.nspname, n.nspowner
    FROM pg_namespace n
    WHERE n.nspname = ANY (%(service_schemas)s::text[])
), owned AS (
    SELECT s.nspname AS schema_name, 'schema' AS kind, s.nspname AS object_name,
           quote_ident(s.nspname) AS object_sql, s.nspowner AS owner
    FROM service_schema s
  UNION ALL
    SELECT s.nspname,
           CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                          WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table'
                          ELSE 'table' END,
           format('%%s.%%s', s.nspname, c.relname),
           format('%%I.%%I', s.nspname, c.relname),
           c.relowner
    FROM pg_class c
    JOIN service_schema s ON s.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
      -- a serial or identity sequence follows its table's owner: judged with the table
      AND NOT (c.relkind = 'S' AND EXISTS (
          SELECT FROM pg_depend d
          WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
            AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
  UNION ALL
    SELECT s.nspname,
           CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
           format('%%s.%%s(%%s)', s.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           format('%%I.%%I(%%s)', s.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
           p.proowner
    FROM pg_proc p
    JOIN service_schema s ON s.oid = p.pronamespace
    WHERE p.prokind IN ('f', 'p')
)
-- Names come only where they will be reported (a login or service role owns
-- them, or the object is the schema itself); otherwise the count is enough.
SELECT owned.schema_name,
       owned.owner AS owner_oid,
       owned.kind,
       count(*) AS objects,
       CASE WHEN named.listed THEN array_agg(owned.object_name ORDER BY owned.object_name)
            ELSE '{}' END AS names,
       CASE WHEN named.listed THEN array_agg(owned.object_sql ORDER BY owned.object_name)
            ELSE '{}' END AS names_sql
FROM owned
JOIN pg_roles r ON r.oid = owned.owner
CROSS JOIN LATERAL (
    SELECT owned.kind = 'schema' OR r.rolcanlogin OR r.rolname = ANY (%(service_roles)s::text[])
           AS listed
) named
GROUP BY owned.schema_name, owned.owner, owned.kind, named.listed
