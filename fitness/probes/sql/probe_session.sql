-- Who the probe runs as and whether it may write: one row.
SELECT r.rolsuper AS superuser,
       current_setting('transaction_read_only') = 'on' AS read_only
FROM pg_roles r
WHERE r.rolname = current_user
