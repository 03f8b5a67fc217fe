"""Settings that reach a session before the application does: a default tenant from
``ALTER ROLE / ALTER DATABASE ... SET``, and superuser-only parameters granted away.
"""

from __future__ import annotations

from fitness.engine.fitness_function import Findings
from fitness.rls.catalog import ParameterGrant, SettingDefault
from fitness.rls.scope import Scope

# What a role can do with each parameter worth naming; others get the general sentence.
_PARAMETER_EFFECTS = {
    "session_replication_role": "replica mode switches off foreign-key checks and user triggers",
}


def check_session_defaults(scope: Scope, findings: Findings) -> None:
    for default in scope.catalog.setting_defaults:
        _report_default(scope, default, findings)
    for grant in scope.catalog.parameter_grants:
        _report_grant(grant, findings)


def _report_default(scope: Scope, default: SettingDefault, findings: Findings) -> None:
    setting = scope.setting
    if default.role is None:
        subject = f"database {default.database}"
        statement = f"ALTER DATABASE {default.quoted_database}"
        who = "every session in the database"
    else:
        subject = default.role
        statement = f"ALTER ROLE {default.quoted_role}"
        if default.database is not None:
            statement += f" IN DATABASE {default.quoted_database}"
        who = f"every session of {default.role}"
    findings.add(
        subject,
        f"{statement} SET {setting} = '{default.value}': {who} starts inside a tenant, and a "
        "request that forgets to set its own tenant reads and writes that tenant's rows.",
        hint=f"{statement} RESET {setting};",
    )


def _report_grant(grant: ParameterGrant, findings: Findings) -> None:
    effect = _PARAMETER_EFFECTS.get(
        grant.parameter,
        "a setting reserved to superusers passes to a role that can reach the service schemas",
    )
    if grant.privilege == "ALTER SYSTEM":
        effect = "the role can change the server's configuration for every session and database"
    findings.add(
        grant.grantee,
        f"GRANT {grant.privilege} ON PARAMETER {grant.parameter}: {effect}.",
        hint=f"REVOKE {grant.privilege} ON PARAMETER {grant.parameter} FROM {grant.quoted_grantee};",
    )
