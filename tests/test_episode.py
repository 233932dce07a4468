"""The Episode record: serialisation, replay from events, idempotence, usage, follow-ups."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from codeact_lab.agent.episode import (
    ActionStatus,
    Episode,
    EpisodeSettings,
    Event,
    EventType,
    FinalState,
    StepKind,
    Usage,
    status_of,
)


def _settings() -> EpisodeSettings:
    return EpisodeSettings(
        model="scripted",
        endpoint="http://127.0.0.1:8000/v1",
        prompt_version="test-1",
        max_turns=5,
        action_timeout=30.0,
        budget=120.0,
        max_tokens=512,
        vision=True,
        approval="ask",
        kernel_name="python3",
    )


def build_episode() -> tuple[Episode, list[Event], list[str]]:
    """A two-turn episode driven the way the loop drives one.

    Returns the live episode, its events, and each event serialised at the moment it
    was made (what an events log holds).
    """
    ep = Episode(task="What is 6 * 7?", settings=_settings(), metadata={"path": "a.ipynb"})
    events: list[Event] = []
    log: list[str] = []

    def emit(ev: Event) -> Event:
        events.append(ev)
        log.append(json.dumps(ev.to_dict()))
        return ev

    emit(ep.event(EventType.EPISODE_STARTED, task=ep.task, settings=ep.settings.to_dict()))
    emit(ep.step_event(EventType.USER_MESSAGE, StepKind.USER, text=ep.task))
    emit(ep.event(EventType.TURN_STARTED, turn=1))
    emit(ep.event(EventType.TEXT_DELTA, turn=1, text="Let me "))
    emit(ep.event(EventType.MODEL_RETRY, turn=1, attempt=1, reason="500", delay=0.01))
    reply = "Let me compute.\n<execute>\nprint(6 * 7)\n</execute>"
    emit(
        ep.step_event(
            EventType.ASSISTANT_MESSAGE,
            StepKind.ASSISTANT,
            text=reply,
            turn=1,
            finish_reason="stop",
            usage={"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        )
    )
    emit(
        ep.step_event(
            EventType.ACTION,
            StepKind.ACTION,
            code="print(6 * 7)",
            turn=1,
            index=0,
            status=ActionStatus.PENDING.value,
            outputs=[],
            execution_count=None,
            duration=0.0,
            approval=None,
            format="tag",
        )
    )
    action_id = ep.steps[-1].id
    emit(ep.event(EventType.AWAITING_APPROVAL, step_id=action_id))
    emit(ep.event(EventType.APPROVAL, step_id=action_id, decision="approve", note="fine"))
    emit(ep.event(EventType.ACTION_STARTED, step_id=action_id))
    emit(ep.event(EventType.EXECUTE_INPUT, step_id=action_id, execution_count=1))
    partial = [{"output_type": "stream", "name": "stdout", "text": "4"}]
    emit(ep.event(EventType.OUTPUT, step_id=action_id, outputs=partial))
    final_outputs = [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    emit(
        ep.event(
            EventType.ACTION_FINISHED,
            step_id=action_id,
            status=ActionStatus.OK.value,
            outputs=final_outputs,
            execution_count=1,
            duration=0.01,
            outputs_truncated=False,
        )
    )
    emit(
        ep.step_event(
            EventType.OBSERVATION,
            StepKind.OBSERVATION,
            text="42",
            images=[],
            turn=1,
            action_ids=[action_id],
        )
    )
    emit(ep.event(EventType.TURN_STARTED, turn=2))
    emit(
        ep.step_event(
            EventType.ASSISTANT_MESSAGE,
            StepKind.ASSISTANT,
            text="<solution>42</solution>",
            turn=2,
            finish_reason="stop",
            usage={"prompt_tokens": 150, "completion_tokens": 30, "total_tokens": 180},
        )
    )
    emit(ep.step_event(EventType.SOLUTION, StepKind.SOLUTION, text="42", turn=2))
    emit(ep.event(EventType.FINAL, state=FinalState.SOLVED.value, reason="answered"))
    return ep, events, log


def from_log(log: list[str]) -> list[Event]:
    return [Event.from_dict(json.loads(line)) for line in log]


# ---------------------------------------------------------------------------


def test_live_episode_is_what_the_events_say():
    ep, events, _ = build_episode()
    assert ep.last_seq == len(events) == events[-1].seq
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [s.kind for s in ep.steps] == [
        StepKind.USER,
        StepKind.ASSISTANT,
        StepKind.ACTION,
        StepKind.OBSERVATION,
        StepKind.ASSISTANT,
        StepKind.SOLUTION,
    ]
    action = ep.steps_of(StepKind.ACTION)[0]
    assert action.data["status"] == "ok"
    assert action.data["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    assert action.data["execution_count"] == 1
    assert action.data["approval"] == {"decision": "approve", "note": "fine"}
    assert ep.state is FinalState.SOLVED
    assert ep.reason == "answered"
    assert ep.ended == events[-1].time
    assert ep.solution == "42"
    assert ep.turns == 2
    assert ep.running is False


def test_json_round_trip():
    ep, events, log = build_episode()
    data = ep.to_dict()
    assert data["last_seq"] == len(events)
    text = json.dumps(data)
    back = Episode.from_dict(json.loads(text))
    assert back.to_dict() == data
    assert json.dumps(back.to_dict()) == text
    assert back.state is FinalState.SOLVED
    assert back.settings == ep.settings
    assert back.usage == ep.usage
    assert [s.kind for s in back.steps] == [s.kind for s in ep.steps]
    assert back.steps[0].kind is StepKind.USER  # enums, not strings
    # The restored record still knows which events it has seen.
    assert back.last_seq == ep.last_seq
    for ev in from_log(log):
        assert back.apply(ev) is False
    assert back.to_dict() == data


def test_json_round_trip_of_a_running_episode():
    ep = Episode(task="t")
    ep.event(EventType.EPISODE_STARTED, task="t", settings=ep.settings.to_dict())
    ep.step_event(EventType.USER_MESSAGE, StepKind.USER, text="t")
    back = Episode.from_dict(json.loads(json.dumps(ep.to_dict())))
    assert back.to_dict() == ep.to_dict()
    assert back.state is None and back.running is True and back.ended is None


def test_replay_of_logged_events_equals_live_episode():
    ep, _, log = build_episode()
    replayed = Episode.replay(from_log(log), id=ep.id, created=ep.created, metadata=ep.metadata)
    assert replayed.to_dict() == ep.to_dict()


def test_replay_of_event_objects_equals_live_episode():
    ep, events, _ = build_episode()
    replayed = Episode.replay(events, id=ep.id, created=ep.created, metadata=ep.metadata)
    assert replayed.to_dict() == ep.to_dict()


def test_replay_without_transient_events_equals_live_episode():
    from codeact_lab.agent.episode import TRANSIENT_EVENTS

    ep, _, log = build_episode()
    durable = [e for e in from_log(log) if e.type not in TRANSIENT_EVENTS]
    assert len(durable) < len(log)
    replayed = Episode.replay(durable, id=ep.id, created=ep.created, metadata=ep.metadata)
    assert replayed.to_dict() == ep.to_dict()


def test_replay_of_a_prefix_is_the_episode_at_that_point():
    ep, _, log = build_episode()
    events = from_log(log)
    finished = next(i for i, e in enumerate(events) if e.type is EventType.ACTION_FINISHED)
    partial = Episode.replay(events[:finished], id=ep.id, created=ep.created)
    action = partial.steps_of(StepKind.ACTION)[0]
    assert action.data["status"] == ActionStatus.RUNNING.value
    assert action.data["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "4"}]
    assert partial.state is None and partial.running
    assert partial.usage.to_dict() == {
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "total_tokens": 120,
    }


def test_applying_an_event_twice_changes_nothing():
    ep, _, log = build_episode()
    before = json.dumps(ep.to_dict())
    for ev in from_log(log):
        assert ep.apply(ev) is False
        assert json.dumps(ep.to_dict()) == before


def test_duplicated_and_resent_events_replay_to_the_same_record():
    ep, _, log = build_episode()
    events = from_log(log)
    # Every event twice, and after a "reconnect" the last half is sent again.
    doubled = [e for ev in events for e in (ev, copy.deepcopy(ev))]
    resent = doubled + [copy.deepcopy(e) for e in events[len(events) // 2 :]]
    replayed = Episode.replay(resent, id=ep.id, created=ep.created, metadata=ep.metadata)
    assert replayed.to_dict() == ep.to_dict()
    assert len(replayed.steps) == len(ep.steps)


def test_stale_event_is_ignored_even_if_it_would_change_the_record():
    ep, _, _ = build_episode()
    action_id = ep.steps_of(StepKind.ACTION)[0].id
    before = ep.to_dict()
    stale = Event(
        EventType.ACTION_FINISHED,
        seq=ep.last_seq,
        time=0.0,
        data={"step_id": action_id, "status": ActionStatus.ERROR.value},
    )
    assert ep.apply(stale) is False
    assert ep.to_dict() == before
    newer = Event(
        EventType.ACTION_FINISHED,
        seq=ep.last_seq + 1,
        time=0.0,
        data={"step_id": action_id, "status": ActionStatus.ERROR.value},
    )
    assert ep.apply(newer) is True
    assert ep.find(action_id).data["status"] == "error"


def test_usage_is_summed_from_assistant_steps():
    ep, _, _ = build_episode()
    assert ep.usage == Usage(250, 50)
    assert ep.usage.total_tokens == 300
    assert ep.to_dict()["usage"] == {
        "prompt_tokens": 250,
        "completion_tokens": 50,
        "total_tokens": 300,
    }
    # A reply without usage (the server sent none) adds nothing; usage on other steps is ignored.
    ep.step_event(EventType.ASSISTANT_MESSAGE, StepKind.ASSISTANT, text="hi", turn=3, usage=None)
    ep.step_event(
        EventType.OBSERVATION, StepKind.OBSERVATION, text="x", usage={"prompt_tokens": 999}
    )
    assert ep.usage == Usage(250, 50)
    ep.step_event(
        EventType.ASSISTANT_MESSAGE,
        StepKind.ASSISTANT,
        text="more",
        turn=4,
        usage={"prompt_tokens": 7, "completion_tokens": 3},
    )
    assert ep.usage.to_dict() == {
        "prompt_tokens": 257,
        "completion_tokens": 53,
        "total_tokens": 310,
    }
    # A step event delivered twice counts once.
    last = Event(
        EventType.ASSISTANT_MESSAGE,
        seq=ep.last_seq + 1,
        time=0.0,
        data={"step": ep.steps[-1].to_dict()},
    )
    ep.apply(last)
    assert ep.usage.total_tokens == 310


def test_user_follow_up_reopens_a_finished_episode():
    ep, _, log = build_episode()
    assert ep.state is FinalState.SOLVED and ep.ended is not None and not ep.running
    follow_up = ep.step_event(EventType.USER_MESSAGE, StepKind.USER, text="And 6 * 8?")
    assert ep.state is None
    assert ep.reason == ""
    assert ep.ended is None
    assert ep.running is True
    assert ep.steps[-1].kind is StepKind.USER and ep.steps[-1].data["text"] == "And 6 * 8?"
    # The steps and usage of the first run are kept.
    assert ep.solution == "42" and ep.usage.total_tokens == 300
    # Replay sees the same.
    events = [*from_log(log), Event.from_dict(json.loads(json.dumps(follow_up.to_dict())))]
    replayed = Episode.replay(events, id=ep.id, created=ep.created, metadata=ep.metadata)
    assert replayed.state is None
    assert replayed.to_dict() == ep.to_dict()
    # And it can finish again.
    ep.event(EventType.FINAL, state=FinalState.REPLIED.value, reason="talked")
    assert ep.state is FinalState.REPLIED and ep.ended is not None


def test_episode_started_resets_a_final_state():
    ep, _, _ = build_episode()
    ep.event(EventType.EPISODE_STARTED, task=ep.task, settings=ep.settings.to_dict())
    assert ep.state is None and ep.ended is None


def test_settings_from_dict_ignores_unknown_keys_and_holds_no_secret():
    data = {**_settings().to_dict(), "api_key": "sk-secret", "future_field": 1}
    settings = EpisodeSettings.from_dict(data)
    assert settings == _settings()
    assert "api_key" not in settings.to_dict()


def test_apply_does_not_share_state_with_the_event_objects():
    ep = Episode(task="t")
    events = [ep.event(EventType.EPISODE_STARTED, task="t", settings={})]
    events.append(ep.step_event(EventType.ACTION, StepKind.ACTION, code="x = 1", status="pending"))
    step_id = ep.steps[-1].id
    replica = Episode.replay(events, id=ep.id, created=ep.created)
    ep.event(EventType.ACTION_STARTED, step_id=step_id)  # applied to `ep` only
    assert events[1].data["step"]["data"]["status"] == "pending"
    assert replica.find(step_id).data["status"] == "pending"


def test_the_frontends_reducer_fixture_matches_this_reducer():
    """labextension/test/fixtures/episode.json holds events and the record the Python
    reducer built from them; the TS reducer is tested against it (jlpm test). If this
    fails, episode.py changed: re-run labextension/test/make_fixture.py and mirror the
    change in labextension/src/model.ts."""
    path = Path(__file__).parent.parent / "labextension" / "test" / "fixtures" / "episode.json"
    fixture = json.loads(path.read_text())
    start = fixture["start"]
    episode = Episode.from_dict(start)
    for event in fixture["events"]:
        episode.apply(Event.from_dict(event))
    assert episode.to_dict() == fixture["expected"]


def test_action_status_groups():
    """One definition of each group (labextension/src/status.ts mirrors them)."""
    by = {
        group: {s.value for s in ActionStatus if getattr(s, group)}
        for group in ("unfinished", "failed", "ran", "completed")
    }
    assert by["unfinished"] == {"pending", "awaiting_approval", "running"}
    assert by["failed"] == {"error", "timeout", "interrupted", "dead", "restarted"}
    assert by["ran"] == by["failed"] | {"ok", "running"}
    assert by["completed"] == {"ok", "error"}
    never_ran = {s.value for s in ActionStatus} - by["ran"] - by["unfinished"]
    assert never_ran == {"rejected", "skipped"}


def test_status_of_an_action_step_only():
    ep = Episode(task="t")
    ep.step_event(EventType.ACTION, StepKind.ACTION, code="x", status="restarted")
    ep.step_event(EventType.ACTION, StepKind.ACTION, code="x", status="from_a_newer_version")
    ep.step_event(EventType.SOLUTION, StepKind.SOLUTION, text="1")
    assert [status_of(s) for s in ep.steps] == [ActionStatus.RESTARTED, None, None]
