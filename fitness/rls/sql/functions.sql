-- The functions rls-coverage judges: those in the service schemas, those called by
-- the judged relations' policies and triggers, and every LEAKPROOF function outside
-- the system schemas. The body is read only for functions without arguments (the
-- wrappers a policy may call to read the tenant setting).
-- Parameters: schemas (text[]), referenced (oid[]).
SELECT
    p.oid,
    n.nspname AS schema,
    p.proname AS name,
    pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname)
        || '(' || pg_catalog.oidvectortypes(p.proargtypes) || ')' AS signature,
    p.prokind::text AS kind,
    p.provolatile::text AS volatility,
    p.prosecdef AS security_definer,
    p.proleakproof AS leakproof,
    l.lanname AS language,
    p.pronargs AS argument_count,
    n.nspname = ANY (%(schemas)s::text[]) AS in_service_schema,
    EXISTS (
        SELECT 1
        FROM pg_catalog.pg_depend AS d
        WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid
          AND d.deptype = 'e'
    ) AS from_extension,
    EXISTS (
        SELECT 1 FROM unnest(p.proconfig) AS setting WHERE setting LIKE 'search_path=%%'
    ) AS pins_search_path,
    -- SQL-standard bodies (BEGIN ATOMIC, RETURN) are parsed when the function is
    -- created, so the search_path at call time cannot change what they refer to.
    p.prosqlbody IS NOT NULL AS parsed_at_creation,
    CASE
        WHEN p.pronargs <> 0 THEN NULL
        WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid)
        WHEN l.lanname IN ('sql', 'plpgsql') THEN p.prosrc
    END AS body,
    owner.rolname AS owner,
    owner.rolsuper OR owner.rolbypassrls AS owner_bypasses_rls,
    ARRAY(
        SELECT CASE WHEN acl.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(acl.grantee) END
        FROM pg_catalog.aclexplode(coalesce(p.proacl, pg_catalog.acldefault('f', p.proowner))) AS acl
        WHERE acl.privilege_type = 'EXECUTE' AND acl.grantee <> p.proowner
        ORDER BY 1
    ) AS executors
FROM pg_catalog.pg_proc AS p
JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
JOIN pg_catalog.pg_roles AS owner ON owner.oid = p.proowner
WHERE (n.nspname = ANY (%(schemas)s::text[]) AND p.prokind IN ('f', 'p'))
   OR p.oid = ANY (%(referenced)s::oid[])
   OR (p.proleakproof AND n.nspname NOT IN ('pg_catalog', 'information_schema'))
ORDER BY signature
