"""Live output patches: applying them rebuilds the outputs exactly, and cost their size."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from codeact_lab.agent.episode import Episode, EventType, StepKind
from codeact_lab.agent.kernel_executor import OutputCollector
from codeact_lab.agent.output_patch import OutputTracker, apply_patch


def msg(kind: str, **content) -> dict:
    return {"header": {"msg_type": kind}, "parent_header": {}, "content": content}


OPS = st.one_of(
    st.tuples(st.just("stream"), st.sampled_from(["stdout", "stderr"]), st.text(max_size=30)),
    st.tuples(st.just("display"), st.sampled_from(["a", "b", None]), st.text(max_size=10)),
    st.tuples(st.just("update"), st.sampled_from(["a", "b"]), st.text(max_size=10)),
    st.tuples(st.just("clear"), st.booleans(), st.just("")),
    st.tuples(st.just("result"), st.just(None), st.text(max_size=10)),
)


def feed(collector: OutputCollector, op: tuple) -> None:
    kind, arg, text = op
    if kind == "stream":
        collector.add(msg("stream", name=arg, text=text))
    elif kind == "display":
        transient = {"display_id": arg} if arg else {}
        collector.add(
            msg("display_data", data={"text/plain": text}, metadata={}, transient=transient)
        )
    elif kind == "update":
        collector.add(
            msg(
                "update_display_data",
                data={"text/plain": text},
                metadata={},
                transient={"display_id": arg},
            )
        )
    elif kind == "clear":
        collector.add(msg("clear_output", wait=arg))
    else:
        collector.add(
            msg("execute_result", data={"text/plain": text}, metadata={}, execution_count=1)
        )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(OPS, st.booleans()), max_size=40))
def test_patches_rebuild_every_snapshot(ops):
    collector = OutputCollector(max_chars=200)
    tracker = OutputTracker()
    client: list[dict] = []
    for op, send in ops:
        feed(collector, op)
        if send:
            patch = tracker.patch(collector.outputs)
            if patch is not None:
                # Through JSON, as the socket carries it.
                client = apply_patch(client, json.loads(json.dumps(patch)))
            assert client == collector.outputs
    patch = tracker.patch(collector.outputs)
    if patch is not None:
        client = apply_patch(client, patch)
    assert client == collector.outputs
    assert tracker.patch(collector.outputs) is None  # nothing new: nothing sent


def test_a_growing_stream_costs_its_own_size():
    collector = OutputCollector(max_chars=10_000_000)
    tracker = OutputTracker()
    sent = 0
    for i in range(2_000):
        collector.add(msg("stream", name="stdout", text=f"line {i:06d} " + "x" * 500 + "\n"))
        patch = tracker.patch(collector.outputs)
        assert patch is not None
        sent += len(json.dumps(patch))
    size = len(collector.outputs[0]["text"])
    assert size > 1_000_000
    assert sent < 1.2 * size  # a whole snapshot each time would be ~1,000x


def test_a_rewritten_stream_tail_is_sent_whole_not_appended():
    """A secret split across two writes is redacted in what was already there."""
    collector = OutputCollector(max_chars=10_000, secrets=["sk-secret-123456"])
    tracker = OutputTracker()
    client: list[dict] = []
    collector.add(msg("stream", name="stdout", text="key: sk-secret-"))
    client = apply_patch(client, tracker.patch(collector.outputs))
    collector.add(msg("stream", name="stdout", text="123456\n"))
    patch = tracker.patch(collector.outputs)
    assert "append" not in patch
    client = apply_patch(client, patch)
    assert client == collector.outputs
    assert client[0]["text"] == "key: [redacted]\n"


def test_the_episode_applies_patches_and_an_old_style_whole_snapshot():
    ep = Episode(task="t")
    ep.event(EventType.EPISODE_STARTED, task="t", settings={})
    ep.step_event(EventType.ACTION, StepKind.ACTION, code="x", outputs=[], status="running")
    step_id = ep.steps[-1].id
    ep.event(
        EventType.OUTPUT,
        step_id=step_id,
        outputs=[{"output_type": "stream", "name": "stdout", "text": "a"}],
    )
    ep.event(EventType.OUTPUT, step_id=step_id, **{"from": 0, "append": "bc", "outputs": []})
    assert ep.steps[-1].data["outputs"][0]["text"] == "abc"
