"""The two seeded tenants every installed platform has, and the administrator of each.

Load is spread over both: each simulated person is placed in the next tenant in
turn (per load process), and starts as a fellow of that tenant's seeded administrator.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from loadtests.sign_in import Person
from reference.directory.seed import SEED_USERS, seed_user_id
from reference.platform.seeding import SEED_TENANTS, SeedTenant

ADMIN_ROLE = "admin"


def seeded_administrator(tenant: SeedTenant) -> Person:
    """The seeded user holding the admin role in ``tenant`` (alice, dave)."""
    seeded = next(user for user in SEED_USERS[tenant] if ADMIN_ROLE in user.roles)
    return Person(tenant.id, seeded.username, str(seed_user_id(tenant, seeded.username)), seeded.roles)


_turns: Iterator[SeedTenant] = itertools.cycle(SEED_TENANTS)


def next_tenant() -> SeedTenant:
    """The seeded tenants in turn."""
    return next(_turns)
