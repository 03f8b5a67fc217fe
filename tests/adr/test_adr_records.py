"""The repository's own ADRs: they parse, they are complete, and their links hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fitness.adr import Adr, read_adrs
from fitness.cli import main

REPO = Path(__file__).resolve().parents[2]
ADR_DIR = REPO / "adr"
CONTRACT = REPO / "quality-attributes.yaml"
SECTIONS = ("Context", "Considered options", "Decision", "Consequences", "Confirmation")

ADRS = read_adrs(ADR_DIR)
ADR_IDS = [adr.id for adr in ADRS]


def _contract() -> dict[str, object]:
    data = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _declared_attributes() -> set[str]:
    attributes = _contract()["quality_attributes"]
    assert isinstance(attributes, dict)
    return set(attributes)


def _sections(adr: Adr) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", adr.body, flags=re.MULTILINE)
    return {title.strip(): text for title, text in zip(parts[1::2], parts[2::2], strict=True)}


@pytest.fixture
def contract_for_repo_adrs(tmp_path: Path) -> Path:
    """A minimal contract pointing at the repository's ADRs, declaring its attributes.

    The repository's own contract also names the reference services' packages,
    which the CLI verifies; this one keeps the test about the ADRs alone.
    """
    config = tmp_path / "quality-attributes.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "adr_dir": str(ADR_DIR),
                "quality_attributes": _contract()["quality_attributes"],
                "services": {"auth": {"schema": "auth", "role": "auth_service"}},
            }
        ),
        encoding="utf-8",
    )
    return config


def test_the_decisions_are_recorded_and_numbered_in_order() -> None:
    assert {f"ADR-000{n}" for n in range(6)} <= {adr.id for adr in ADRS if adr.accepted}
    numbers = [int(adr.id.removeprefix("ADR-")) for adr in ADRS]
    assert numbers == list(range(len(numbers))), "ADR numbers have a gap"
    assert [adr.path.name[:4] for adr in ADRS] == [adr.id[-4:] for adr in ADRS]


@pytest.mark.parametrize("adr", ADRS, ids=ADR_IDS)
def test_sections_are_the_madr_ones_in_order(adr: Adr) -> None:
    assert adr.body.startswith(f"# {adr.id}: {adr.title}\n")
    assert list(_sections(adr)) == list(SECTIONS)
    for title, text in _sections(adr).items():
        assert len(text.split()) >= 40, f"{adr.id}: section {title} is too thin"


@pytest.mark.parametrize("adr", ADRS, ids=ADR_IDS)
def test_considered_options_say_why_each_was_rejected_or_chosen(adr: Adr) -> None:
    options = re.split(r"^### ", _sections(adr)["Considered options"], flags=re.MULTILINE)[1:]
    verdicts = [option for option in options if re.search(r"^- (Rejected|Chosen)", option, re.M)]
    assert len(verdicts) >= 3, f"{adr.id}: fewer than three options with a verdict"
    assert sum("\n- Chosen" in option for option in options) == 1
    for option in verdicts:
        assert "- Good:" in option and "- Bad:" in option, option.splitlines()[0]


@pytest.mark.parametrize("adr", ADRS, ids=ADR_IDS)
def test_attributes_are_declared_in_the_contract(adr: Adr) -> None:
    assert adr.attributes
    assert set(adr.attributes) <= _declared_attributes()


@pytest.mark.parametrize("adr", ADRS, ids=ADR_IDS)
def test_confirmation_explains_exactly_the_enforcing_fitness_functions(adr: Adr) -> None:
    confirmation = _sections(adr)["Confirmation"]
    explained = re.findall(r"^- \*\*`([a-z0-9-]+)`\*\*", confirmation, flags=re.MULTILINE)
    assert sorted(explained) == sorted(adr.enforced_by)
    for fitness_id in adr.enforced_by:
        assert re.search(rf"fitgate check --only [a-z0-9,-]*\b{fitness_id}\b", confirmation), (
            f"{adr.id}: no command to run {fitness_id}"
        )


def test_fitness_links_in_the_contract_are_listed_by_their_adr() -> None:
    by_id = {adr.id: adr for adr in ADRS}
    links = _contract().get("fitness") or {}
    assert isinstance(links, dict)
    for fitness_id, settings in links.items():
        adr = by_id[settings["adr"]]
        assert fitness_id in adr.enforced_by, f"{adr.id} does not list {fitness_id}"


@pytest.mark.parametrize("adr", ADRS, ids=ADR_IDS)
def test_links_between_adrs_resolve(adr: Adr) -> None:
    for target in re.findall(r"\]\(([^)#]+\.md)\)", adr.body):
        assert (ADR_DIR / target).is_file(), f"{adr.id} links to missing {target}"


def test_readme_lists_every_adr() -> None:
    readme = (ADR_DIR / "README.md").read_text(encoding="utf-8")
    for adr in ADRS:
        assert f"[{adr.id}]({adr.path.name})" in readme
        assert f"| {', '.join(adr.enforced_by)} |" in readme


def test_adr_list_prints_every_record(
    contract_for_repo_adrs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["adr", "--config", str(contract_for_repo_adrs), "list"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert [line.split()[0] for line in lines] == ADR_IDS
    assert all("  accepted  " in line and "enforced by: " in line for line in lines)


@pytest.mark.parametrize("wanted", ["ADR-0002", "adr-0002", "2"])
def test_adr_show_prints_the_record_and_its_enforcement(
    wanted: str, contract_for_repo_adrs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["adr", "--config", str(contract_for_repo_adrs), "show", wanted])
    out = capsys.readouterr().out
    assert code == 0
    head, _, body = out.partition("\n\n")
    assert head.splitlines()[0].startswith("ADR-0002: Tenant isolation by row-level security")
    assert "status: accepted" in head
    assert "attributes: tenant_isolation, security" in head
    assert "enforced by: rls-coverage" in head and "tenant-scope" in head
    assert "FORCE ROW LEVEL SECURITY" in body
    assert "set_config('app.tenant_id', $1, true)" in body
