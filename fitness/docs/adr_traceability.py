"""adr-traceability: decisions and the fitness functions enforcing them point at each other."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fitness import registry
from fitness.adr import Adr
from fitness.engine.context import CheckContext
from fitness.engine.fitness_function import Findings, FitnessFunction, Kind


class AdrTraceability(FitnessFunction):
    id = "adr-traceability"
    kinds = (Kind.DOCS,)
    summary = (
        "every accepted ADR names existing fitness functions, and every fitness function "
        "names an ADR and a quality attribute"
    )

    def run(self, context: CheckContext) -> Findings:
        config = context.config
        findings = Findings()
        adrs = {adr.id: adr for adr in config.adrs}
        base = config.path.resolve().parent
        if not adrs:
            findings.add(
                str(config.adr_dir),
                "there are no ADRs: no decision is recorded, so no check can be traced to one.",
                hint="write adr/0001-....md with front matter id, title, status, date, "
                "attributes, enforced_by",
            )
        for record in adrs.values():
            self._check_adr(record, config.quality_attributes, base, findings)
        for fitness_id in registry.FITNESS_IDS:
            settings = config.settings_for(fitness_id)
            if not settings.enabled:
                findings.note(f"{fitness_id} is disabled in the config and not traced")
                continue
            subject = fitness_id
            location = _config_location(context, fitness_id)
            if settings.adr is None or settings.attribute is None:
                missing = [
                    name
                    for name, value in (
                        ("ADR", settings.adr),
                        ("quality attribute", settings.attribute),
                    )
                    if value is None
                ]
                findings.add(
                    subject,
                    f"it names no {' and no '.join(missing)} that it serves: nobody can tell "
                    "which decision it protects.",
                    location=location,
                    hint=f"fitness: {{{fitness_id}: {{adr: ADR-00NN, attribute: NAME}}}}",
                )
                continue
            adr = adrs.get(settings.adr)
            if adr is None:
                continue  # the config loader already refuses dangling ADR links
            if not adr.accepted:
                findings.add(
                    subject,
                    f"it is linked to {adr.id}, which is {adr.status}, not accepted.",
                    location=location,
                    hint=f"link it to the ADR that replaced {adr.id}"
                    + (f" ({adr.superseded_by})" if adr.superseded_by else ""),
                )
            elif fitness_id not in adr.enforced_by:
                findings.add(
                    subject,
                    f"it is linked to {adr.id}, but {adr.id} does not list it in enforced_by.",
                    location=_adr_location(adr, "enforced_by", base),
                    hint=f"add {fitness_id} to enforced_by in {adr.path.name}",
                )
        enforced = {fid for a in adrs.values() if a.accepted for fid in a.enforced_by}
        for attribute in config.quality_attributes:
            linked = any(
                config.settings_for(fid).attribute == attribute for fid in registry.FITNESS_IDS
            ) or any(attribute in a.attributes for a in adrs.values() if a.accepted)
            if not linked:
                findings.note(f"quality attribute {attribute} is declared but no ADR or check serves it")
        findings.note(f"{len(adrs)} ADR(s), {len(enforced)} fitness function(s) named by accepted ADRs")
        return findings

    def _check_adr(self, adr: Adr, attributes: Mapping[str, str], base: Path, findings: Findings) -> None:
        if not adr.accepted:
            return
        if not adr.enforced_by:
            findings.add(
                adr.id,
                "the ADR is accepted but names no fitness function that enforces it.",
                location=_adr_location(adr, "enforced_by", base),
                hint="list the fitness ids that prove the decision in enforced_by",
            )
        for fitness_id in adr.enforced_by:
            if fitness_id not in registry.FITNESS_IDS:
                findings.add(
                    adr.id,
                    f"enforced_by names {fitness_id}, which is not a fitness function.",
                    location=_adr_location(adr, "enforced_by", base),
                    hint=f"use one of: {', '.join(registry.FITNESS_IDS)}",
                )
        for attribute in adr.attributes:
            if attribute not in attributes:
                findings.add(
                    adr.id,
                    f"it serves quality attribute {attribute}, which quality_attributes does not declare.",
                    location=_adr_location(adr, "attributes", base),
                    hint=f"declare quality_attributes.{attribute} or fix the ADR's attributes",
                )


def _adr_location(adr: Adr, key: str, base: Path) -> str:
    return f"{_relative(adr.path, base)}:{adr.line_of(key)}"


def _config_location(context: CheckContext, fitness_id: str) -> str:
    config = context.config
    line = config.document.line_of(("fitness", fitness_id))
    return f"{config.path}:{line}" if line else str(config.path)


def _relative(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(path, base)
    except ValueError:
        return str(path)
