-- The tenant setting a new session of each role would start with, from
-- ALTER ROLE ... IN DATABASE / ALTER ROLE / ALTER DATABASE ... SET, applied
-- with the server's precedence (role in database, role, database). Only values
-- set for the role are returned: a database-wide one shows on any fresh
-- connection, and is reported once as such.
SELECT r.rolname AS role_name,
       quote_ident(r.rolname) AS role_sql,
       chosen.value,
       chosen.per_role,
       chosen.per_database
FROM pg_roles r
CROSS JOIN LATERAL (
    SELECT substr(entry, length(%(setting)s) + 2) AS value,
           s.setrole <> 0 AS per_role,
           s.setdatabase <> 0 AS per_database
    FROM pg_db_role_setting s
    CROSS JOIN LATERAL unnest(s.setconfig) AS entry
    WHERE s.setrole IN (0, r.oid)
      AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
      AND NOT (s.setrole = 0 AND s.setdatabase = 0)
      AND lower(split_part(entry, '=', 1)) = lower(%(setting)s)
    ORDER BY s.setrole <> 0 DESC, s.setdatabase <> 0 DESC
    LIMIT 1
) chosen
WHERE r.rolname = ANY (%(roles)s::text[])
  AND chosen.per_role
  AND chosen.value <> ''
