-- Rules and user triggers on the judged relations. Rule actions run with the
-- table owner's rights; a trigger runs its function, SECURITY DEFINER or not.
-- Triggers PostgreSQL clones onto partitions are left to the parent's trigger.
-- Parameters: relations (oid[]).
SELECT rw.ev_class AS relation_oid, 'rule' AS kind, rw.rulename AS name,
       pg_catalog.quote_ident(rw.rulename) AS quoted_name, NULL::oid AS function_oid
FROM pg_catalog.pg_rewrite AS rw
WHERE rw.ev_class = ANY (%(relations)s::oid[]) AND rw.rulename <> '_RETURN'
UNION ALL
SELECT tg.tgrelid, 'trigger', tg.tgname, pg_catalog.quote_ident(tg.tgname), tg.tgfoid
FROM pg_catalog.pg_trigger AS tg
WHERE tg.tgrelid = ANY (%(relations)s::oid[]) AND NOT tg.tgisinternal AND tg.tgparentid = 0
ORDER BY relation_oid, kind, name
