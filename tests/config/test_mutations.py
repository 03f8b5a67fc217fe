"""Property: any mutation of a valid contract loads or fails with the one error type."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fitness.config import Config, load_config
from fitness.errors import ConfigError
from tests.config.test_loading import VALID

BASE: dict[str, Any] = yaml.safe_load(VALID)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    ),
    max_leaves=6,
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn) -> str:
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        targets = paths(data)
        path = draw(st.sampled_from(targets))
        if not path:
            data = draw(values)
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "rename", "add"]))
        last = path[-1]
        if action == "replace":
            parent[last] = draw(values)
        elif action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = parent.pop(last)
        elif action == "add" and isinstance(parent[last], dict):
            parent[last][draw(st.text(max_size=10))] = draw(values)
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    if draw(st.booleans()):
        position = draw(st.integers(min_value=0, max_value=len(text)))
        text = (
            text[:position]
            + draw(st.sampled_from([":", "- ", "{", "'", "\t", "&a", "*a", "\n  "]))
            + text[position:]
        )
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=mutated_documents())
def test_a_mutated_config_loads_or_raises_config_error(tmp_path: Path, document: str) -> None:
    path = tmp_path / "quality-attributes.yaml"
    path.write_text(document, encoding="utf-8")
    try:
        config = load_config(path)
    except ConfigError as error:
        assert "\n" not in str(error)
        assert str(error).startswith(str(path))
    else:
        assert isinstance(config, Config)
