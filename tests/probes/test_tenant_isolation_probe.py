"""tenant-isolation-probe on deliberately broken databases: one fixture per way isolation fails."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from fitness.engine.fitness_function import Status

TP = "tenant-isolation-probe"
FAIL_CLOSED = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"


def replace_policy(platform, table, *policies):
    """Drop the table's tenant policy and create ``policies`` (SQL after ``CREATE POLICY``)."""
    platform.sql(
        f"DROP POLICY tenant_isolation ON {table};"
        + ";".join(f"CREATE POLICY {policy}" for policy in policies)
    )


def messages_for(platform, result, subject):
    return [
        v.message.replace(platform.prefix, "{p}")
        for v in platform.ours(result.violations)
        if v.subject == subject
    ]


def test_rls_disabled(service_platform):
    service_platform.sql("ALTER TABLE license.licenses DISABLE ROW LEVEL SECURITY")
    result = service_platform.run(TP)
    assert result.status is Status.FAIL
    assert set(service_platform.subjects(result)) == {"license.licenses"}
    messages = messages_for(service_platform, result, "license.licenses")
    assert (
        "with no tenant set, {p}_license_service sees rows of license.licenses: it must see none." in messages
    )
    assert any("sees rows of tenant 22222222-2222-2222-2222-222222222222" in m for m in messages)
    hint = service_platform.ours(result.violations)[0].hint
    assert hint.startswith(
        "ALTER TABLE license.licenses ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;"
    )


def test_rls_not_forced_and_the_service_owns_the_table(service_platform):
    service_platform.sql(
        "ALTER TABLE license.licenses NO FORCE ROW LEVEL SECURITY;"
        "ALTER TABLE license.licenses OWNER TO {p}_license_service"
    )
    assert set(service_platform.subjects(service_platform.run(TP))) == {"license.licenses"}


def test_an_extra_permissive_policy_ors_the_filter_away(service_platform):
    service_platform.sql(
        "CREATE POLICY reporting ON license.licenses FOR SELECT TO {p}_license_service USING (true)"
    )
    result = service_platform.run(TP)
    messages = messages_for(service_platform, result, "license.licenses")
    assert (
        "with tenant 11111111-1111-1111-1111-111111111111 set, {p}_license_service sees rows of tenant "
        "22222222-2222-2222-2222-222222222222 in license.licenses."
    ) in messages


def test_a_fail_open_predicate_shows_everything_without_a_tenant(service_platform):
    replace_policy(
        service_platform,
        "license.licenses",
        "open_when_unset ON license.licenses USING (current_setting('app.tenant_id', true) IS NULL "
        "OR tenant_id = current_setting('app.tenant_id', true)::uuid)",
    )
    messages = messages_for(service_platform, service_platform.run(TP), "license.licenses")
    assert (
        "with no tenant set, {p}_license_service sees rows of license.licenses: it must see none." in messages
    )


def test_a_coalesce_predicate_shows_everything_with_an_empty_tenant(service_platform):
    replace_policy(
        service_platform,
        "license.licenses",
        "coalesced ON license.licenses USING (tenant_id::text = "
        "coalesce(nullif(current_setting('app.tenant_id', true), ''), tenant_id::text))",
    )
    messages = messages_for(service_platform, service_platform.run(TP), "license.licenses")
    assert (
        "with app.tenant_id set to '', {p}_license_service sees rows of license.licenses: it must see none."
        in messages
    )


def test_update_without_with_check_moves_a_row_to_another_tenant(service_platform):
    replace_policy(
        service_platform,
        "license.licenses",
        f"no_check ON license.licenses USING (tenant_id = {FAIL_CLOSED}) WITH CHECK (true)",
    )
    result = service_platform.run(TP)
    messages = messages_for(service_platform, result, "license.licenses")
    assert any(
        m.startswith(
            "as {p}_license_service with a tenant set, moving a row of license.licenses "
            "to another tenant (UPDATE ... SET tenant_id) succeeded"
        )
        for m in messages
    )
    assert any("inserting a row of another tenant into license.licenses succeeded" in m for m in messages)


def test_an_insert_policy_that_checks_nothing(service_platform):
    replace_policy(
        service_platform,
        "license.licenses",
        f"tenant_read ON license.licenses FOR SELECT USING (tenant_id = {FAIL_CLOSED})",
        f"tenant_update ON license.licenses FOR UPDATE USING (tenant_id = {FAIL_CLOSED})"
        f" WITH CHECK (tenant_id = {FAIL_CLOSED})",
        "any_insert ON license.licenses FOR INSERT WITH CHECK (true)",
    )
    messages = messages_for(service_platform, service_platform.run(TP), "license.licenses")
    assert len(messages) == 1
    assert "inserting a row of another tenant into license.licenses succeeded" in messages[0]


def test_with_check_true_is_caught_even_when_a_constraint_fails_later(service_platform):
    """A unique constraint stops the foreign row only after row-level security let it through."""
    service_platform.sql("ALTER TABLE license.licenses ADD UNIQUE (id)")
    replace_policy(
        service_platform,
        "license.licenses",
        f"tenant_read ON license.licenses FOR SELECT USING (tenant_id = {FAIL_CLOSED})",
        "any_insert ON license.licenses FOR INSERT WITH CHECK (true)",
    )
    messages = messages_for(service_platform, service_platform.run(TP), "license.licenses")
    assert any("was not refused by row-level security and failed only later (23505" in m for m in messages)


def test_a_view_owned_by_a_superuser_returns_every_tenant(service_platform):
    service_platform.sql(
        "CREATE VIEW license.all_licenses AS SELECT * FROM license.licenses;"
        "GRANT SELECT ON license.all_licenses TO {p}_license_service"
    )
    result = service_platform.run(TP)
    assert set(service_platform.subjects(result)) == {"license.all_licenses"}
    violation = service_platform.ours(result.violations)[0]
    assert violation.hint == "ALTER VIEW license.all_licenses SET (security_invoker = true);"


def test_a_materialized_view_of_tenant_data(service_platform):
    service_platform.sql(
        "CREATE MATERIALIZED VIEW license.licenses_snapshot AS SELECT * FROM license.licenses;"
        "GRANT SELECT ON license.licenses_snapshot TO {p}_license_service"
    )
    assert set(service_platform.subjects(service_platform.run(TP))) == {"license.licenses_snapshot"}


def test_a_partition_without_row_level_security_queried_directly(service_platform):
    service_platform.sql(
        "SET ROLE {p}_license_owner;"
        "CREATE TABLE license.usage (tenant_id uuid NOT NULL, day date NOT NULL,"
        " PRIMARY KEY (tenant_id, day)) PARTITION BY RANGE (day);"
        "CREATE TABLE license.usage_2025 PARTITION OF license.usage"
        " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');"
        "ALTER TABLE license.usage ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;"
        f"CREATE POLICY tenant_isolation ON license.usage USING (tenant_id = {FAIL_CLOSED})"
        f" WITH CHECK (tenant_id = {FAIL_CLOSED});"
        "RESET ROLE;"
        "INSERT INTO license.usage VALUES ('{a}', '2025-03-01'), ('{b}', '2025-03-01');"
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA license TO {p}_license_service"
    )
    assert set(service_platform.subjects(service_platform.run(TP))) == {"license.usage_2025"}


def test_an_empty_table_is_seeded_inside_the_probe(service_platform):
    """directory.audit_log holds no row: the probe seeds two tenants, then sees the leak."""
    replace_policy(service_platform, "directory.audit_log", "open ON directory.audit_log USING (true)")
    result = service_platform.run(TP)
    assert "directory.audit_log" in service_platform.subjects(result)
    assert any("seeded tenant rows (rolled back) into 1 table(s)" in n for n in result.notes)


def test_a_large_table_without_an_index_on_the_tenant(service_platform):
    service_platform.sql(
        "SET ROLE {p}_license_owner;"
        "CREATE TABLE license.events (tenant_id uuid NOT NULL, n integer NOT NULL);"
        "ALTER TABLE license.events ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;"
        f"CREATE POLICY tenant_isolation ON license.events USING (tenant_id = {FAIL_CLOSED})"
        f" WITH CHECK (tenant_id = {FAIL_CLOSED});"
        "RESET ROLE;"
        "INSERT INTO license.events SELECT CASE WHEN g % 2 = 0 THEN '{a}'::uuid ELSE '{b}'::uuid END, g"
        " FROM generate_series(1, 3000) g;"
        "ANALYZE license.events;"
        "GRANT SELECT ON license.events TO {p}_license_service"
    )
    result = service_platform.run(TP)
    assert service_platform.subjects(result) == ["license.events"]
    violation = service_platform.ours(result.violations)[0]
    assert violation.message.startswith("no index of license.events serves the tenant predicate")
    assert violation.hint == "CREATE INDEX ON license.events (tenant_id);"


def test_an_index_the_policy_cannot_use_is_a_note(service_platform):
    replace_policy(
        service_platform,
        "directory.users",
        "text_compare ON directory.users USING (tenant_id::text = current_setting('app.tenant_id', true))",
    )
    result = service_platform.run(TP)
    assert service_platform.subjects(result) == []
    assert any(
        "directory.users: with enable_seqscan off" in n and "cannot use the index on tenant_id" in n
        for n in result.notes
    )


def test_a_database_default_tenant_on_a_fresh_connection(service_platform):
    database = conninfo_to_dict(service_platform.url)["dbname"]
    service_platform.sql(f"ALTER DATABASE {database} SET app.tenant_id = '{{a}}'")
    result = service_platform.run(TP)
    assert "app.tenant_id" in service_platform.subjects(result)


def test_a_role_default_tenant_for_a_service(service_platform):
    database = conninfo_to_dict(service_platform.url)["dbname"]
    service_platform.sql(
        f"ALTER ROLE {{p}}_license_service IN DATABASE {database} SET app.tenant_id = '{{a}}'"
    )
    result = service_platform.run(TP)
    assert service_platform.subjects(result) == ["{p}_license_service"]
    assert service_platform.ours(result.violations)[0].hint.startswith(
        f"ALTER ROLE {service_platform.role('license_service')} IN DATABASE"
    )


def test_a_minimal_contract_is_enough(service_platform):
    for service in service_platform.contract["services"].values():
        for key in ("publishes", "reads", "global_tables"):
            service.pop(key, None)
    service_platform.contract.pop("tenancy")
    service_platform.sql("ALTER TABLE license.licenses DISABLE ROW LEVEL SECURITY")
    assert set(service_platform.subjects(service_platform.run(TP))) == {"license.licenses"}


def test_nothing_to_probe_is_a_skip(service_platform):
    service_platform.contract["tenancy"] = {"column": "organisation_id"}
    result = service_platform.run(TP)
    assert result.status is Status.SKIP
    assert "organisation_id" in result.reason
