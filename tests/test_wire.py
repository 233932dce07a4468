"""The wire's types (codeact_lab/agent/wire.py) and the schema file made from them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import get_args, get_type_hints

import pytest

from codeact_lab.agent import wire, wire_schema
from codeact_lab.agent.episode import (
    ActionStatus,
    Episode,
    EpisodeSettings,
    EventType,
    FinalState,
    StepKind,
)

FIXTURE = Path(__file__).parent.parent / "labextension" / "test" / "fixtures" / "episode.json"


def errors(name: str, instance: object) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in wire_schema.validator(name).iter_errors(instance)
    ]


def test_the_committed_schema_is_what_the_types_make():
    assert wire_schema.SCHEMA_FILE.read_text() == wire_schema.text(), (
        "codeact_lab/wire.schema.json is out of date: run "
        "`python -m codeact_lab.agent.wire_schema`, then `jlpm build:wire` in labextension"
    )
    assert wire_schema.main(["--check"]) == 0


@pytest.mark.parametrize(
    ("literal", "enum"),
    [(wire.FinalState, FinalState), (wire.ActionStatus, ActionStatus), (wire.StepKind, StepKind)],
)
def test_the_literal_types_hold_the_enums_values(literal, enum):
    assert list(get_args(literal.__value__)) == [member.value for member in enum]


def test_every_event_type_has_its_member_of_the_event_union():
    members = get_args(get_args(wire.Event.__value__)[0])
    types = [get_args(get_type_hints(member)["type"])[0] for member in members]
    assert sorted(types) == sorted(t.value for t in EventType)


def test_episode_settings_has_the_dataclass_fields():
    assert list(wire.EpisodeSettings.__annotations__) == [
        f.name for f in dataclasses.fields(EpisodeSettings)
    ]


def test_steps_and_events_are_discriminated_unions():
    defs = json.loads(wire_schema.SCHEMA_FILE.read_text())["$defs"]
    assert defs["Step"]["discriminator"]["propertyName"] == "kind"
    assert set(defs["Step"]["discriminator"]["mapping"]) == {k.value for k in StepKind}
    assert defs["Event"]["discriminator"]["propertyName"] == "type"
    assert set(defs["Event"]["discriminator"]["mapping"]) == {t.value for t in EventType}


def test_the_frontends_fixture_follows_the_schema():
    fixture = json.loads(FIXTURE.read_text())
    for event in fixture["events"]:
        assert errors("Event", event) == [], event
    assert errors("EpisodeRecord", fixture["start"]) == []
    assert errors("EpisodeRecord", fixture["expected"]) == []


def test_a_key_the_schema_does_not_name_is_refused():
    ep = Episode(task="t")
    ev = ep.step_event(EventType.SOLUTION, StepKind.SOLUTION, text="4", turn=1)
    assert errors("Event", ev.to_dict()) == []
    ev.data["step"]["data"]["confidence"] = 0.9
    assert any("confidence" in e for e in errors("Event", ev.to_dict()))
    # An event whose data is another type's is refused too.
    wrong = {"type": "final", "seq": 1, "time": 0.0, "data": {"step_id": "0001-action"}}
    assert errors("Event", wrong)


def test_host_metadata_stays_open():
    record = Episode(task="t").to_dict()
    record["metadata"] = {"notebook_path": "a.ipynb", "a_hosts_own_key": [1]}
    assert errors("EpisodeRecord", record) == []
    record["metadata"]["notebook_path"] = 3
    assert errors("EpisodeRecord", record)
