"""How hard and how long to load: a profile from the config, overridden by the command line."""

from __future__ import annotations

from dataclasses import dataclass, fields

from fitness.config import Config, LoadProfile
from fitness.errors import UsageError

NO_OVERRIDES = LoadProfile()
# What `fitgate load` uses for anything neither a profile nor an option sets.
LOAD_DEFAULTS = LoadProfile(users=10, spawn_rate=10, duration=60, warmup=0, workers=0, budget_factor=1)
# The profile `fitgate check --only latency-budgets` runs, and what it uses without one: a short run.
CHECK_PROFILE = "ci"
CHECK_DEFAULTS = LoadProfile(users=10, spawn_rate=10, duration=30, warmup=5, workers=0, budget_factor=1)


@dataclass(frozen=True)
class LoadPlan:
    users: int
    spawn_rate: float
    duration_s: float  # measured
    warmup_s: float  # load before the measured duration, left out of the figures
    workers: int
    budget_factor: float  # declared latency budgets are multiplied by this for the verdict
    profile: str | None = None

    def describe(self) -> str:
        parts = [
            f"{self.users} users",
            f"spawn rate {self.spawn_rate:g}/s",
            f"{self.duration_s:g} s measured"
            + (f" after {self.warmup_s:g} s warm-up" if self.warmup_s else ""),
            f"{self.workers} worker processes" if self.workers else "one load process",
        ]
        if self.budget_factor != 1:
            parts.append(f"latency budgets x{self.budget_factor:g}")
        if self.profile:
            parts.insert(0, f"profile {self.profile}")
        return ", ".join(parts)


def plan_load(
    config: Config,
    profile: str | None,
    overrides: LoadProfile = NO_OVERRIDES,
    defaults: LoadProfile = LOAD_DEFAULTS,
) -> LoadPlan:
    """The plan: each value from ``overrides``, else the named profile, else ``defaults``."""
    chosen = LoadProfile()
    if profile is not None:
        found = config.load.profiles.get(profile)
        if found is None:
            known = ", ".join(config.load.profiles) or "none declared under load.profiles"
            raise UsageError(f"--profile {profile}: no such profile in {config.path} (known: {known})")
        chosen = found
    values: dict[str, float] = {}
    for spec in fields(LoadProfile):
        given = (getattr(source, spec.name) for source in (overrides, chosen, defaults))
        value = next((v for v in given if v is not None), None)
        if value is None:
            raise ValueError(f"no default for {spec.name}")
        values[spec.name] = value
    return LoadPlan(
        users=int(values["users"]),
        spawn_rate=float(values["spawn_rate"]),
        duration_s=float(values["duration"]),
        warmup_s=float(values["warmup"]),
        workers=int(values["workers"]),
        budget_factor=float(values["budget_factor"]),
        profile=profile,
    )


def check_plan(config: Config) -> LoadPlan:
    """What `latency-budgets` runs under `fitgate check`: the ci profile if declared, else a short default."""
    profile = CHECK_PROFILE if CHECK_PROFILE in config.load.profiles else None
    return plan_load(config, profile, defaults=CHECK_DEFAULTS)
