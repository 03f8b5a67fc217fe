"""The two seeded tenants every installed platform has: load is spread over both.

Each simulated person is placed in the next tenant in turn (per load process).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from reference.platform.seeding import SEED_TENANTS, SeedTenant

ADMIN_ROLE = "admin"

_turns: Iterator[SeedTenant] = itertools.cycle(SEED_TENANTS)


def next_tenant() -> SeedTenant:
    """The seeded tenants in turn."""
    return next(_turns)
