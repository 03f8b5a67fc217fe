-- Every role of the cluster with the attributes that bypass the service model.
-- Roles are cluster-wide: a superuser created for another database can still
-- connect to this one, so no role is left out.
SELECT r.oid,
       r.rolname AS name,
       quote_ident(r.rolname) AS sql_name,
       r.rolcanlogin AS login,
       r.rolsuper AS superuser,
       r.rolbypassrls AS bypass_rls,
       r.rolcreaterole AS create_role,
       r.rolcreatedb AS create_db,
       r.rolreplication AS replication,
       r.oid = 10 AS bootstrap,
       -- predefined roles (pg_read_all_data, pg_database_owner, ...) have oids below 16384
       r.oid < 16384 AND r.oid <> 10 AS predefined,
       r.rolname = session_user AS connected
FROM pg_roles r
ORDER BY r.rolname
