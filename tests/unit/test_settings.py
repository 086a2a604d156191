"""One settings module: bounds declared once, the same refusal from every door, a faithful
round trip through the recorded form."""

from __future__ import annotations

import json

import pytest

from pipeline.errors import ForensicsError
from pipeline.settings import (
    ENV_MEMORY_LIMIT,
    PARTS,
    FeatureParams,
    IngestParams,
    LinkParams,
    PipelineParams,
    memory_ceiling,
)


@pytest.mark.parametrize("kind,values,message", [
    (IngestParams, {"max_bad_share": 1.5}, "max_bad_share: must be at most 1 (got 1.5)"),
    (IngestParams, {"max_bad_share": "0.1"}, "max_bad_share: must be a number (got '0.1')"),
    (LinkParams, {"lookback_days": True}, "lookback_days: must be a whole number (got True)"),
    (LinkParams, {"alpha": 0}, "alpha: must be more than 0 (got 0)"),
    (FeatureParams, {"max_accounts_per_prompt": 1},
     "max_accounts_per_prompt: must be at least 2 (got 1)"),
    (IngestParams, {"max_bad_shares": 0.1}, "max_bad_shares: no such setting"),
])
def test_a_bad_value_is_refused_naming_the_setting(kind, values, message):
    with pytest.raises(ForensicsError) as refused:
        kind(**values)
    assert str(refused.value) == message


def test_a_misspelt_override_is_refused_not_ignored():
    with pytest.raises(ForensicsError, match=r"^lookback_day: no such setting$"):
        PipelineParams.from_overrides({"lookback_day": 7})


def test_a_name_several_stages_share_is_set_in_each():
    params = PipelineParams.from_overrides({"alpha": 0.05})
    assert params.linking.alpha == params.statistics.alpha == 0.05


def test_settings_are_frozen():
    with pytest.raises(ValueError, match="frozen"):
        PipelineParams().linking.lookback_days = 3  # type: ignore[misc]


def test_the_recorded_form_round_trips_and_refuses_what_this_version_lacks():
    params = PipelineParams.from_overrides({"lookback_days": 7, "excerpts": 2})
    recorded = json.loads(json.dumps(params.model_dump()))
    assert PipelineParams.from_nested(recorded) == params
    recorded["linking"]["retired_setting"] = 1
    with pytest.raises(ForensicsError, match=r"^retired_setting: no such setting$"):
        PipelineParams.from_nested(recorded)


def test_a_default_given_explicitly_is_the_same_value_of_the_same_type():
    """A count declared as a float turns the CLI's 0 into 0.0: the same run through the
    CLI (which passes every option) and through a DAG (which passes three) would then
    record different parameters and differ byte for byte."""
    for kind in PARTS.values():
        for name, value in kind().model_dump().items():
            if name == "link_types":
                continue
            given = getattr(kind(**{name: value}), name)
            assert (given, type(given)) == (value, type(value)), f"{kind.__name__}.{name}"



@pytest.mark.parametrize("machine_gib,limit", [(24, "3072MiB"), (2, "1024MiB"), (256, "4096MiB")])
def test_a_stages_memory_ceiling_is_a_share_of_the_machine_within_its_bounds(machine_gib, limit,
                                                                            monkeypatch):
    monkeypatch.delenv(ENV_MEMORY_LIMIT, raising=False)
    assert memory_ceiling(None, machine_gib << 30) == limit
    assert memory_ceiling("6GB", machine_gib << 30) == "6GB"


def test_a_machines_own_ceiling_applies_where_a_stage_names_none(monkeypatch):
    monkeypatch.setenv(ENV_MEMORY_LIMIT, "2GiB")
    assert memory_ceiling(None, 24 << 30) == "2GiB"
    assert memory_ceiling("6GB", 24 << 30) == "6GB"


def test_every_stage_with_a_connection_of_its_own_takes_the_memory_limit_override():
    """One ``--memory-limit`` bounds ingest, the days and the window alike; a stage left
    out would take DuckDB's default of 80% of the machine."""
    params = PipelineParams.from_overrides({"memory_limit": "2GiB"})
    assert (params.ingest.memory_limit, params.features.memory_limit,
            params.linking.memory_limit) == ("2GiB",) * 3
    assert PipelineParams().ingest.memory_limit is None
