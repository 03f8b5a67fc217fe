"""rls-coverage: tenant isolation by row-level security, judged from the catalogs."""
