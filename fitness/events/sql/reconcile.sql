-- Every aggregate with a problem, from the per-table reconciliations joined below.
-- Those whose stored state needs a look outside SQL come back always; those with a
-- problem SQL can judge alone only up to the "listed" parameter per table, lowest ids
-- first (NULL: all), then those whose writing transaction cannot be proven. Per-table
-- totals of each problem ride along on every row.
SELECT *
FROM (
    SELECT a.*,
           row_number() OVER per_table AS position,
           count(*) FILTER (WHERE a.no_events) OVER whole_table AS total_no_events,
           count(*) FILTER (WHERE a.gap) OVER whole_table AS total_gap,
           count(*) FILTER (WHERE a.stale) OVER whole_table AS total_stale,
           count(*) FILTER (WHERE a.version_mismatch) OVER whole_table AS total_version_mismatch,
           count(*) FILTER (WHERE a.tenant_mismatch) OVER whole_table AS total_tenant_mismatch,
           count(*) FILTER (WHERE a.foreign_tx) OVER whole_table AS total_foreign_tx,
           count(*) FILTER (WHERE a.orphan) OVER whole_table AS total_orphan,
           count(*) FILTER (WHERE a.alive_after_deletion) OVER whole_table
               AS total_alive_after_deletion,
           count(*) FILTER (WHERE a.unprovable) OVER whole_table AS total_unprovable
    FROM (
        SELECT b.*,
               b.no_events OR b.gap OR b.stale OR b.version_mismatch OR b.tenant_mismatch
                   OR b.foreign_tx OR b.orphan OR b.alive_after_deletion AS judged
        FROM ({tables}) AS b
    ) AS a
    WHERE a.judged OR a.unprovable OR a.state_in_doubt
    WINDOW per_table AS (PARTITION BY a.table_name ORDER BY a.judged DESC, a.aggregate_id),
           whole_table AS (PARTITION BY a.table_name)
) AS ranked
WHERE ranked.state_in_doubt
   OR ((ranked.judged OR ranked.unprovable)
       AND (%(listed)s::bigint IS NULL OR ranked.position <= %(listed)s::bigint))
ORDER BY ranked.table_name, ranked.aggregate_id
