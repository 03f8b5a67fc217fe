-- Views and materialized views that read tenant tables, directly or through other
-- views, anywhere in the database. A view reads its tables with its owner's rights
-- unless it is security_invoker; a materialized view is a copy RLS cannot filter.
-- For each, the tenant tables it reaches and those whose policies its owner escapes
-- (superuser, BYPASSRLS, or the table's owner while RLS is not forced).
-- Parameters: tenant_relations (oid[]).
WITH RECURSIVE reach(view_oid, table_oid) AS (
    SELECT DISTINCT rw.ev_class, d.refobjid
    FROM pg_catalog.pg_depend AS d
    JOIN pg_catalog.pg_rewrite AS rw ON rw.oid = d.objid
    WHERE d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
      AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjid = ANY (%(tenant_relations)s::oid[])
      AND rw.rulename = '_RETURN'
      AND rw.ev_class <> d.refobjid
    UNION
    SELECT rw.ev_class, reach.table_oid
    FROM reach
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = reach.view_oid
     AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
    JOIN pg_catalog.pg_rewrite AS rw ON rw.oid = d.objid
    WHERE rw.rulename = '_RETURN' AND rw.ev_class <> reach.view_oid
)
SELECT
    pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(v.relname) AS qualified,
    v.relkind::text AS kind,
    coalesce((
        SELECT o.option_value::boolean
        FROM pg_catalog.pg_options_to_table(v.reloptions) AS o
        WHERE o.option_name = 'security_invoker'
    ), false) AS security_invoker,
    owner.rolname AS owner,
    owner.rolsuper AS owner_is_superuser,
    owner.rolbypassrls AS owner_bypasses_rls,
    ARRAY(
        SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname)
        FROM reach AS r
        JOIN pg_catalog.pg_class AS t ON t.oid = r.table_oid
        JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.relnamespace
        WHERE r.view_oid = v.oid
        ORDER BY 1
    ) AS tenant_tables,
    ARRAY(
        SELECT pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.relname)
        FROM reach AS r
        JOIN pg_catalog.pg_class AS t ON t.oid = r.table_oid
        JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.relnamespace
        WHERE r.view_oid = v.oid
          AND NOT t.relforcerowsecurity
          AND pg_catalog.pg_has_role(v.relowner, t.relowner, 'USAGE')
        ORDER BY 1
    ) AS owned_unforced_tables
FROM (SELECT DISTINCT view_oid FROM reach) AS reached
JOIN pg_catalog.pg_class AS v ON v.oid = reached.view_oid
JOIN pg_catalog.pg_namespace AS n ON n.oid = v.relnamespace
JOIN pg_catalog.pg_roles AS owner ON owner.oid = v.relowner
WHERE v.relkind IN ('v', 'm')
ORDER BY qualified
