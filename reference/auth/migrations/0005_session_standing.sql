-- Introspection's question, "is this session usable?", as one statement: auth.session_standing
-- sets the tenant transaction-locally and reads the session and its directory user under
-- row-level security, so an introspection is one prepared statement and one round trip
-- instead of BEGIN, set_config, SELECT and COMMIT. Called in autocommit mode, the statement
-- is its own transaction: the tenant setting ends with it and never stays on the pooled
-- connection. SECURITY INVOKER (the default): it has no rights the caller lacks, and every
-- policy applies; the search_path is pinned and every name qualified.

CREATE FUNCTION auth.session_standing(p_tenant_id uuid, p_session_id uuid)
RETURNS TABLE (user_id uuid, usable boolean, username text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.set_config('app.tenant_id', p_tenant_id::text, true);
    RETURN QUERY
        SELECT s.user_id,
               s.status = 'active' AND s.expires_at > pg_catalog.now() AND u.status = 'active',
               u.username
        FROM auth.sessions AS s
        JOIN directory.users AS u ON u.tenant_id = s.tenant_id AND u.id = s.user_id
        WHERE s.tenant_id = p_tenant_id AND s.id = p_session_id;
END
$$;

-- Functions are not executable by PUBLIC here (0002's default privileges): only auth may call it.
GRANT EXECUTE ON FUNCTION auth.session_standing(uuid, uuid) TO auth_service;
