-- The policies of the judged relations, with their expressions as PostgreSQL prints
-- them and the functions those expressions call (policies record a dependency on
-- every function in USING and WITH CHECK, sub-selects included).
-- Parameters: relations (oid[]).
WITH calls AS (
    SELECT d.objid AS policy_oid, array_agg(DISTINCT d.refobjid ORDER BY d.refobjid) AS function_oids
    FROM pg_catalog.pg_depend AS d
    WHERE d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass
      AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass
    GROUP BY d.objid
)
SELECT
    pol.polrelid AS relation_oid,
    pol.polname AS name,
    pg_catalog.quote_ident(pol.polname) AS quoted_name,
    pol.polpermissive AS permissive,
    CASE pol.polcmd
        WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
        WHEN 'd' THEN 'DELETE' ELSE 'ALL'
    END AS command,
    ARRAY(
        SELECT CASE WHEN r.role = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r.role) END
        FROM unnest(pol.polroles) AS r(role)
        ORDER BY 1
    ) AS roles,
    ARRAY(
        SELECT CASE WHEN r.role = 0 THEN 'PUBLIC'
                    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.role)) END
        FROM unnest(pol.polroles) AS r(role)
        ORDER BY 1
    ) AS quoted_roles,
    pg_catalog.pg_get_expr(pol.polqual, pol.polrelid) AS using_expression,
    pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid) AS check_expression,
    coalesce(calls.function_oids, '{}') AS function_oids
FROM unnest(%(relations)s::oid[]) AS judged(oid)
JOIN pg_catalog.pg_policy AS pol ON pol.polrelid = judged.oid
LEFT JOIN calls ON calls.policy_oid = pol.oid
ORDER BY pol.polrelid, pol.polname
