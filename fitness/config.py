"""The contract file, ``quality-attributes.yaml``, as typed objects.

Loading validates against the JSON Schema shipped in ``fitness/schema`` and
then cross-checks what a schema cannot express (a read of an unpublished
table, a link to an ADR that does not exist). Every error is one
:class:`~fitness.errors.ConfigError` naming file, line and key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from fitness import registry
from fitness.adr import Adr, read_adrs
from fitness.errors import ConfigError
from fitness.located_yaml import LocatedDocument, load_yaml
from fitness.located_yaml import Path as KeyPath

DEFAULT_CONFIG = "quality-attributes.yaml"
DEFAULT_LOCUSTFILE = "loadtests/locustfile.py"


@dataclass(frozen=True)
class Budget:
    """Latency and error budget of one endpoint (``METHOD /path``)."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    error_rate: float | None = None


@dataclass(frozen=True)
class Service:
    name: str
    schema: str
    role: str
    package: str | None = None
    publishes: tuple[str, ...] = ()
    reads: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    global_tables: Mapping[str, str] = field(default_factory=dict)
    external_hosts: tuple[str, ...] = ()
    url: str | None = None
    app: str | None = None
    priorities: tuple[str, ...] = ()
    budgets: Mapping[str, Budget] = field(default_factory=dict)

    def package_dir(self, code_root: Path) -> Path | None:
        """The folder holding the service's code, if it declares a package."""
        if self.package is None:
            return None
        return code_root.joinpath(*self.package.split("."))


@dataclass(frozen=True)
class PlatformRole:
    """A database role outside the service model, declared with its reason."""

    name: str
    reason: str
    bypass_rls: bool = False
    superuser: bool = False
    writes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tenancy:
    column: str = "tenant_id"
    setting: str = "app.tenant_id"


@dataclass(frozen=True)
class StateMapping:
    """How an aggregate row becomes its event state when the two differ.

    By default the state is the whole row, ``to_jsonb(row)``, ``version``
    included; ``exclude`` leaves columns out, ``rename`` stores a column under
    another key.
    """

    exclude: tuple[str, ...] = ()
    rename: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Events:
    table: str = "domain_event"
    aggregates: Mapping[str, str] = field(default_factory=dict)  # schema.table -> kind
    state: Mapping[str, StateMapping] = field(default_factory=dict)  # schema.table -> mapping
    deletions: tuple[str, ...] = ()  # event names after which the aggregate's row may be gone
    validate_latest: int = 100  # latest events per event type checked against its JSON Schemas

    def mapping_for(self, table: str) -> StateMapping:
        return self.state.get(table, StateMapping())


@dataclass(frozen=True)
class LoadProfile:
    """A named load shape (``load.profiles.<name>``); unset fields take the command's defaults."""

    users: int | None = None
    spawn_rate: float | None = None
    duration: float | None = None
    warmup: float | None = None
    workers: int | None = None
    budget_factor: float | None = None


@dataclass(frozen=True)
class LoadSettings:
    """Where the load scenarios are and the named profiles to run them with."""

    locustfile: Path
    locustfile_declared: bool = False  # false: the default path, which may not exist
    profiles: Mapping[str, LoadProfile] = field(default_factory=dict)


@dataclass(frozen=True)
class FitnessSettings:
    adr: str | None = None
    attribute: str | None = None
    severity: str = "error"
    enabled: bool = True


@dataclass(frozen=True)
class Config:
    path: Path
    version: int
    system: str
    code_root: Path
    adr_dir: Path
    installer: str | None
    tenancy: Tenancy
    quality_attributes: Mapping[str, str]
    services: Mapping[str, Service]
    platform_roles: Mapping[str, PlatformRole]
    events: Events
    load: LoadSettings
    fitness: Mapping[str, FitnessSettings]
    adrs: tuple[Adr, ...]
    document: LocatedDocument = field(repr=False, compare=False)

    def settings_for(self, fitness_id: str) -> FitnessSettings:
        return self.fitness.get(fitness_id, FitnessSettings())

    def service_by_schema(self, schema: str) -> Service | None:
        return next((s for s in self.services.values() if s.schema == schema), None)

    def error_at(self, path: KeyPath, problem: str) -> ConfigError:
        """An error located at a key of this file (used when a named object fails later)."""
        return self.document.error(path, problem)


@cache
def contract_schema() -> dict[str, Any]:
    """The JSON Schema of ``quality-attributes.yaml`` shipped with fitgate."""
    text = resources.files("fitness.schema").joinpath("quality-attributes.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_config(path: str | Path = DEFAULT_CONFIG) -> Config:
    """Read, validate and cross-check a contract file."""
    config_path = Path(path)
    source = str(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, None, "", "no such file") from None
    except IsADirectoryError:
        raise ConfigError(source, None, "", "is a folder, not a file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, None, "", f"cannot read: {exc.__class__.__name__}") from None
    doc = load_yaml(text, source)
    if not isinstance(doc.data, dict):
        raise ConfigError(source, doc.line_of(()) or 1, "", "must be a mapping of keys")
    _validate(doc)
    config = _build(doc, config_path.resolve().parent)
    _cross_check(config)
    return config


def _validate(doc: LocatedDocument) -> None:
    validator = jsonschema.Draft202012Validator(contract_schema())
    problems = [_locate(doc, error) for error in validator.iter_errors(doc.data)]
    if problems:
        raise min(problems, key=lambda e: (e.line or 0, e.key))


def _locate(doc: LocatedDocument, error: jsonschema.ValidationError) -> ConfigError:
    path: KeyPath = tuple(error.absolute_path)
    instance: Any = error.instance
    expected: Any = error.validator_value
    schema: Any = error.schema
    if error.validator == "required":
        missing = [key for key in expected if key not in instance]
        return doc.error((*path, missing[0]), "required")
    if error.validator == "additionalProperties":
        known = set(schema.get("properties", {}))
        unknown = sorted(key for key in instance if key not in known)
        return doc.error((*path, unknown[0]), "unknown key")
    if error.validator == "propertyNames":
        return doc.error((*path, instance), _describe_mismatch(error))
    return doc.error(path, _describe_mismatch(error))


def _describe_mismatch(error: jsonschema.ValidationError) -> str:
    value: Any = error.instance
    kind = error.validator
    expected: Any = error.validator_value
    schema: Any = error.schema
    if kind == "type":
        return f"must be {_article(expected)}, not {_json_type(value)}"
    if kind == "const":
        return f"must be {expected!r}"
    if kind == "enum":
        return f"must be one of {', '.join(map(str, expected))}"
    if kind == "pattern":
        return f"{value!r} is not {schema.get('description', 'of the expected form')}"
    if kind == "uniqueItems":
        return "lists an item twice"
    if kind in ("minProperties", "minItems", "minLength"):
        return "must not be empty"
    if kind == "maxLength":
        return f"{value!r} is longer than {expected} characters"
    if kind == "exclusiveMinimum":
        return f"must be more than {expected}"
    if kind == "minimum":
        return f"must be at least {expected}"
    if kind == "maximum":
        return f"must be at most {expected}"
    return error.message


def _article(type_name: Any) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "number": "a number",
        "integer": "an integer",
        "boolean": "true or false",
    }
    if isinstance(type_name, list):
        return " or ".join(names.get(str(t), str(t)) for t in type_name)
    return names.get(type_name, str(type_name))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _build(doc: LocatedDocument, folder: Path) -> Config:
    data: dict[str, Any] = doc.data
    code_root = (folder / data.get("code_root", ".")).resolve()
    adr_dir = (folder / data.get("adr_dir", "adr")).resolve()
    tenancy = Tenancy(**data.get("tenancy", {}))
    services = {
        name: Service(
            name=name,
            schema=spec["schema"],
            role=spec["role"],
            package=spec.get("package"),
            publishes=tuple(spec.get("publishes", ())),
            reads={k: tuple(v) for k, v in spec.get("reads", {}).items()},
            global_tables=dict(spec.get("global_tables", {})),
            external_hosts=tuple(spec.get("external_hosts", ())),
            url=spec.get("url", "").rstrip("/") or None,
            app=spec.get("app"),
            priorities=tuple(spec.get("priorities", ())),
            budgets={k: Budget(**v) for k, v in spec.get("budgets", {}).items()},
        )
        for name, spec in data["services"].items()
    }
    platform_roles = {
        name: PlatformRole(
            name=name,
            reason=spec["reason"],
            bypass_rls=spec.get("bypass_rls", False),
            superuser=spec.get("superuser", False),
            writes=tuple(spec.get("writes", ())),
        )
        for name, spec in data.get("platform_roles", {}).items()
    }
    events_spec = data.get("events", {})
    events = Events(
        table=events_spec.get("table", "domain_event"),
        aggregates=dict(events_spec.get("aggregates", {})),
        state={
            table: StateMapping(
                exclude=tuple(spec.get("exclude", ())), rename=dict(spec.get("rename", {}))
            )
            for table, spec in events_spec.get("state", {}).items()
        },
        deletions=tuple(events_spec.get("deletions", ())),
        validate_latest=events_spec.get("validate_latest", 100),
    )
    load_spec = data.get("load", {})
    load = LoadSettings(
        locustfile=(folder / load_spec.get("locustfile", DEFAULT_LOCUSTFILE)).resolve(),
        locustfile_declared="locustfile" in load_spec,
        profiles={name: LoadProfile(**spec) for name, spec in load_spec.get("profiles", {}).items()},
    )
    fitness = {fid: FitnessSettings(**spec) for fid, spec in data.get("fitness", {}).items()}
    return Config(
        path=Path(doc.source),
        version=data["version"],
        system=data.get("system", folder.name),
        code_root=code_root,
        adr_dir=adr_dir,
        installer=data.get("database", {}).get("installer"),
        tenancy=tenancy,
        quality_attributes=dict(data.get("quality_attributes", {})),
        services=services,
        platform_roles=platform_roles,
        events=events,
        load=load,
        fitness=fitness,
        adrs=tuple(read_adrs(adr_dir)),
        document=doc,
    )


def _cross_check(config: Config) -> None:
    err = config.error_at
    schemas: dict[str, str] = {}
    roles: dict[str, str] = {}
    for name, service in config.services.items():
        if service.schema in schemas:
            raise err(
                ("services", name, "schema"),
                f"schema {service.schema} is already owned by {schemas[service.schema]}",
            )
        schemas[service.schema] = name
        if service.role in roles:
            raise err(
                ("services", name, "role"),
                f"role {service.role} is already the role of {roles[service.role]}",
            )
        roles[service.role] = name
    for name, service in config.services.items():
        for other, tables in service.reads.items():
            if other == name:
                raise err(("services", name, "reads", other), "a service does not read itself")
            owner = config.services.get(other)
            if owner is None:
                raise err(("services", name, "reads", other), f"no service named {other}")
            for index, table in enumerate(tables):
                if table not in owner.publishes:
                    raise err(
                        ("services", name, "reads", other, index),
                        f"{other} does not publish {table}",
                    )
        for index, attribute in enumerate(service.priorities):
            if attribute not in config.quality_attributes:
                raise err(
                    ("services", name, "priorities", index),
                    f"quality attribute {attribute} is not declared in quality_attributes",
                )
        package_dir = service.package_dir(config.code_root)
        if package_dir is not None and not package_dir.is_dir():
            raise err(
                ("services", name, "package"),
                f"no folder {package_dir} for package {service.package}",
            )
    budgeted: dict[str, str] = {}
    for name, service in config.services.items():
        for endpoint in service.budgets:
            if endpoint in budgeted:
                # A load run names requests "METHOD /path" only, so one endpoint cannot carry two budgets.
                raise err(
                    ("services", name, "budgets", endpoint),
                    f"{endpoint} already has a budget under services.{budgeted[endpoint]}.budgets; "
                    "a load run cannot tell the two apart",
                )
            budgeted[endpoint] = name
    for role in config.platform_roles:
        if role in roles:
            raise err(("platform_roles", role), f"{role} is already the role of {roles[role]}")
    for role_name, platform_role in config.platform_roles.items():
        for index, table in enumerate(platform_role.writes):
            if table.split(".")[0] not in schemas:
                raise err(
                    ("platform_roles", role_name, "writes", index),
                    f"no service owns schema {table.split('.')[0]}",
                )
    _cross_check_events(config, schemas)
    adr_ids = {adr.id for adr in config.adrs}
    for fitness_id, settings in config.fitness.items():
        if fitness_id not in registry.FITNESS_IDS:
            raise err(
                ("fitness", fitness_id),
                f"no fitness function with this id (known: {', '.join(registry.FITNESS_IDS)})",
            )
        if settings.adr is not None and settings.adr not in adr_ids:
            raise err(("fitness", fitness_id, "adr"), f"{settings.adr} is not an ADR in {config.adr_dir}")
        if settings.attribute is not None and settings.attribute not in config.quality_attributes:
            raise err(
                ("fitness", fitness_id, "attribute"),
                f"quality attribute {settings.attribute} is not declared in quality_attributes",
            )


def _cross_check_events(config: Config, schemas: Mapping[str, str]) -> None:
    err = config.error_at
    events = config.events
    tables_of_kind: dict[str, str] = {}
    for table, kind in events.aggregates.items():
        if table.split(".")[0] not in schemas:
            raise err(
                ("events", "aggregates", table), f"no service owns schema {table.split('.')[0]}"
            )
        if kind in tables_of_kind:
            raise err(
                ("events", "aggregates", table),
                f"kind {kind} is already the kind of {tables_of_kind[kind]}",
            )
        tables_of_kind[kind] = table
    for table, mapping in events.state.items():
        if table not in events.aggregates:
            raise err(("events", "state", table), "not an aggregate table in events.aggregates")
        for column in ("version", *mapping.exclude):
            if column in mapping.rename:
                reason = (
                    "version is bookkeeping, never part of the state"
                    if column == "version"
                    else "it is also in exclude"
                )
                raise err(("events", "state", table, "rename", column), reason)
        targets: dict[str, str] = {}
        for column, key in mapping.rename.items():
            if key in targets:
                raise err(
                    ("events", "state", table, "rename", column),
                    f"{targets[key]} is already renamed to {key}",
                )
            targets[key] = column
