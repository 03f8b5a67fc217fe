"""Broken ADR front matter: exit code 2 and one line naming the file and line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fitness.cli import main

VALID = """\
---
id: ADR-0001
title: A decision
status: accepted
date: 2026-11-27
attributes: [availability]
enforced_by: [adr-traceability]
---
# ADR-0001: A decision
"""

BROKEN_NAME = "0001-broken.md"


def _replace(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


# (case, file text, expected line or None, text the message must contain)
CASES = [
    ("no front matter", "# ADR-0001: A decision\n", 1, "no YAML front matter"),
    ("unclosed", VALID.replace("---\n# ADR", "# ADR"), 1, "front matter is not closed"),
    ("empty", "---\n---\nbody\n", 2, "front matter must be a mapping"),
    ("not a mapping", "---\n- id\n- title\n---\nbody\n", 2, "front matter must be a mapping"),
    ("scalar", "---\njust words\n---\nbody\n", 2, "front matter must be a mapping"),
    ("invalid yaml", _replace("title: A decision", "title: A: decision"), 3, "invalid YAML"),
    # The parser notices the unclosed list where the next key starts.
    ("unclosed list", _replace("[availability]", "[availability"), 7, "invalid YAML"),
    (
        "duplicate key",
        _replace("status: accepted", "status: accepted\nstatus: proposed"),
        5,
        "status: duplicate key",
    ),
    (
        "unknown key",
        _replace("status: accepted", "status: accepted\nowner: someone"),
        5,
        "owner: unknown key",
    ),
    ("missing key", _replace("date: 2026-11-27\n", ""), 2, "date: required"),
    ("missing title", _replace("title: A decision\n", ""), 2, "title: required"),
    ("bad id", _replace("id: ADR-0001", "id: ADR-1"), 2, "id: 'ADR-1' must look like ADR-0001"),
    ("numeric id", _replace("id: ADR-0001", "id: 1"), 2, "id: must be a non-empty string"),
    (
        "empty title",
        _replace("title: A decision", "title: ''"),
        3,
        "title: must be a non-empty string",
    ),
    (
        "bad status",
        _replace("status: accepted", "status: done"),
        4,
        "status: 'done' must be one of",
    ),
    ("bad date text", _replace("2026-11-27", "27.11.2026"), 5, "is not a date (YYYY-MM-DD)"),
    ("impossible date", _replace("2026-11-27", "2026-13-01"), 5, "month must be in 1..12"),
    ("impossible quoted date", _replace("2026-11-27", "'2026-02-30'"), 5, "is not a date"),
    ("date with time", _replace("2026-11-27", "2026-11-27 10:00:00"), 5, "date: must be a date"),
    (
        "attributes not a list",
        _replace("[availability]", "availability"),
        6,
        "attributes: must be a list",
    ),
    (
        "attribute not text",
        _replace("[availability]", "[availability, 3]"),
        6,
        "attributes[1]: must be a non-empty string",
    ),
    (
        "enforced_by not a list",
        _replace("enforced_by: [adr-traceability]", "enforced_by: adr-traceability"),
        7,
        "enforced_by: must be a list",
    ),
    (
        "bad fitness id",
        _replace("[adr-traceability]", "[ADR Traceability]"),
        7,
        "enforced_by[0]: 'ADR Traceability' is not a fitness id",
    ),
    (
        "bad superseded_by",
        _replace("status: accepted", "status: superseded\nsuperseded_by: later"),
        5,
        "superseded_by: must be an ADR id",
    ),
]


def _write_adrs(folder: Path, files: dict[str, str | bytes]) -> None:
    adr_dir = folder / "adr"
    adr_dir.mkdir()
    for name, content in files.items():
        path = adr_dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _assert_one_line_error(err: str, out: str, file: str, line: int | None, fragment: str) -> None:
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err
    where = f"{file}:{line}: " if line is not None else f"{file}: "
    assert err.startswith(f"fitgate: error: {where}"), err
    assert fragment in err, err


@pytest.mark.parametrize(("text", "line", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_adr_list_rejects_broken_front_matter(
    text: str,
    line: int | None,
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _write_adrs(tmp_path, {BROKEN_NAME: text})
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["adr", "list"], capsys)
    assert code == 2
    _assert_one_line_error(err, out, f"adr/{BROKEN_NAME}", line, fragment)


def test_file_that_is_not_utf8_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_adrs(tmp_path, {BROKEN_NAME: b"---\nid: ADR-0001\ntitle: \xff\n---\n"})
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["adr", "list"], capsys)
    assert code == 2
    _assert_one_line_error(err, out, f"adr/{BROKEN_NAME}", None, "cannot read")


def test_duplicate_id_names_the_second_file_and_its_id_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    second = "---\n# the same number by mistake\nid: ADR-0001\n" + VALID.split("\n", 2)[2]
    _write_adrs(tmp_path, {"0001-first.md": VALID, "0002-second.md": second})
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["adr", "list"], capsys)
    assert code == 2
    _assert_one_line_error(
        err, out, "adr/0002-second.md", 3, "id: ADR-0001 is also the id of adr/0001-first.md"
    )


def test_adr_show_of_unknown_id_is_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_adrs(tmp_path, {"0001-valid.md": VALID})
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["adr", "show", "ADR-0042"], capsys)
    assert code == 2
    assert out == ""
    assert err == "fitgate: error: adr show: no ADR ADR-0042 (known: ADR-0001)\n"


def test_adr_show_reports_a_broken_sibling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # One broken file makes every ADR command stop, not only the command that lists it.
    _write_adrs(tmp_path, {"0001-valid.md": VALID, "0002-broken.md": _replace("ADR-0001", "ADR-2")})
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(["adr", "show", "ADR-0001"], capsys)
    assert code == 2
    _assert_one_line_error(err, out, "adr/0002-broken.md", 2, "'ADR-2' must look like ADR-0001")


def test_readme_is_not_an_adr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_adrs(tmp_path, {"0001-valid.md": VALID, "README.md": "# How to write ADRs\n"})
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(["adr", "list"], capsys)
    assert code == 0
    assert out.splitlines() == ["ADR-0001  accepted    A decision  enforced by: adr-traceability"]


def test_check_stops_on_a_broken_adr_named_by_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_adrs(tmp_path, {BROKEN_NAME: _replace("status: accepted", "status: done")})
    config = tmp_path / "quality-attributes.yaml"
    config.write_text("version: 1\nservices:\n  auth: {schema: auth, role: auth_service}\n", encoding="utf-8")
    code, out, err = _run(["check", "--config", str(config), "--only", "adr-traceability"], capsys)
    assert code == 2
    _assert_one_line_error(err, out, str(tmp_path / "adr" / BROKEN_NAME), 4, "status: 'done'")


def test_console_script_prints_one_line_without_traceback(tmp_path: Path) -> None:
    # The bad date used to escape PyYAML as a bare ValueError; run the real entry point.
    _write_adrs(tmp_path, {BROKEN_NAME: _replace("2026-11-27", "2026-13-01")})
    done = subprocess.run(
        [sys.executable, "-m", "fitness", "adr", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"fitgate: error: adr/{BROKEN_NAME}:5: date: '2026-13-01' cannot be read: month must be in 1..12\n"
    )
