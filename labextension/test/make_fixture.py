"""Write test/fixtures/episode.json: events made by the Python core's Episode,
and the record its reducer builds from them. The TypeScript reducer
(src/model.ts) must build the same record (test/model.test.js).

Run from the repository root after changing codeact_lab/agent/episode.py:
    .venv/bin/python labextension/test/make_fixture.py
"""

from __future__ import annotations

import json
from pathlib import Path

from codeact_lab.agent.episode import Episode, EpisodeSettings, EventType, StepKind
from codeact_lab.agent.kernel_executor import OutputCollector
from codeact_lab.agent.output_patch import OutputTracker, diff_outputs

ep = Episode(task="sum the numbers", settings=EpisodeSettings(model="scripted", approval="ask"))
ep.metadata = {"notebook_path": "sum.ipynb", "kernel_id": "k1", "anchor_cell_id": "c1"}
events = []


def emit(type_: EventType, **data) -> None:
    events.append(ep.event(type_, **data).to_dict())


def step(type_: EventType, kind: StepKind, **data) -> str:
    ev = ep.step_event(type_, kind, **data)
    events.append(ev.to_dict())
    return ev.data["step"]["id"]


# The user's cell was running: the episode waited for it (live only).
emit(EventType.KERNEL_BUSY, waiting=True)
emit(EventType.KERNEL_BUSY, waiting=False)
emit(
    EventType.EPISODE_STARTED,
    task=ep.task,
    settings=ep.settings.to_dict(),
    system="You are a helpful assistant with a Python kernel.",
)
step(EventType.USER_MESSAGE, StepKind.USER, text=ep.task)
emit(EventType.TURN_STARTED, turn=1)
emit(EventType.TEXT_DELTA, turn=1, text="<exec")
emit(EventType.MODEL_RETRY, turn=1, attempt=1, reason="HTTP 500", delay=0.5)
emit(EventType.TEXT_DELTA, turn=1, text="<execute>\nprint(sum(numbrs))")
reply1 = "<execute>\nprint(sum(numbrs))\n</execute>"
usage1 = {"prompt_tokens": 100, "completion_tokens": 12, "total_tokens": 112}
step(EventType.ASSISTANT_MESSAGE, StepKind.ASSISTANT, text=reply1, turn=1, usage=usage1)
action = {"turn": 1, "index": 0, "format": "tag", "status": "pending", "outputs": [],
          "execution_count": None, "duration": None, "approval": None}
a1 = step(EventType.ACTION, StepKind.ACTION, code="print(sum(numbrs))", **action)
emit(EventType.AWAITING_APPROVAL, step_id=a1)
emit(EventType.APPROVAL, step_id=a1, decision="reject", note="not yet")
step(EventType.OBSERVATION, StepKind.OBSERVATION, text="rejected: not yet", images=[], turn=1,
     action_ids=[a1])
emit(EventType.TURN_STARTED, turn=2)
reply2 = "<execute>\nprint(sum(numbers))\n</execute>"
usage2 = {"prompt_tokens": 150, "completion_tokens": 10, "total_tokens": 160}
step(EventType.ASSISTANT_MESSAGE, StepKind.ASSISTANT, text=reply2, turn=2, usage=usage2)
a2 = step(EventType.ACTION, StepKind.ACTION, code="print(sum(numbers))", **{**action, "turn": 2})
emit(EventType.AWAITING_APPROVAL, step_id=a2)
# The user edited the pending cell before approving it: their code runs.
emit(EventType.APPROVAL, step_id=a2, decision="approve", note=None, code="print(sum(numbers))  # mine")
emit(EventType.ACTION_STARTED, step_id=a2)
emit(EventType.EXECUTE_INPUT, step_id=a2, execution_count=3)
partial = [{"output_type": "stream", "name": "stdout", "text": "1"}]
emit(EventType.OUTPUT, step_id=a2, outputs=partial)
emit(EventType.OUTPUT, step_id=a2, **{"from": 0, "append": "4", "outputs": []})
whole = [{"output_type": "stream", "name": "stdout", "text": "14\n"}]
emit(EventType.ACTION_FINISHED, step_id=a2, status="ok", outputs=whole, execution_count=3,
     duration=0.01, outputs_truncated=False, timeout=None)
step(EventType.OBSERVATION, StepKind.OBSERVATION, text="14", images=[], turn=2, action_ids=[a2])
emit(EventType.TURN_STARTED, turn=3)
step(EventType.ASSISTANT_MESSAGE, StepKind.ASSISTANT, text="<solution>14</solution>", turn=3,
     usage=None)
step(EventType.SOLUTION, StepKind.SOLUTION, text="14", turn=3)
emit(EventType.FINAL, state="solved", reason="")
# A follow-up reopens the episode, then it ends again.
step(EventType.USER_MESSAGE, StepKind.USER, text="and the product?")
emit(EventType.FINAL, state="stopped", reason="stopped by the user")
# A rejected answer: the model's code answers through final_answer(), then it repeats itself.
step(EventType.USER_MESSAGE, StepKind.USER, text="Your answer is incorrect.", rejects_answer=True)
emit(EventType.TURN_STARTED, turn=4)
reply4 = "<execute>\nfinal_answer(sum(numbers) * 2)\n</execute>"
step(EventType.ASSISTANT_MESSAGE, StepKind.ASSISTANT, text=reply4, turn=4, usage=None)
a3 = step(EventType.ACTION, StepKind.ACTION, code="final_answer(sum(numbers) * 2)",
          **{**action, "turn": 4})
emit(EventType.ACTION_STARTED, step_id=a3)
emit(EventType.ACTION_FINISHED, step_id=a3, status="ok", outputs=[], execution_count=4,
     duration=0.01, outputs_truncated=False, timeout=None)
step(EventType.OBSERVATION, StepKind.OBSERVATION, text="[no output]", images=[], turn=4,
     action_ids=[a3], refused_answer={"text": "28", "why": "format"})
step(EventType.SOLUTION, StepKind.SOLUTION, text="28", turn=4, source="code", action_id=a3)
emit(EventType.FINAL, state="stuck", reason="the model gave the same rejected answer a third time")

start = {**ep.to_dict(), "system": "", "steps": [], "state": None, "reason": "", "ended": None,
         "last_seq": 0, "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}
out = Path(__file__).parent / "fixtures" / "episode.json"
out.write_text(json.dumps({"start": start, "events": events, "expected": ep.to_dict()}, indent=2) + "\n")
print(f"wrote {len(events)} events to {out}")

# Live-output patches (src/model.ts applyOutputPatch against output_patch.py): the
# collector's outputs after each IOPub message, and the patch the loop sends for them.
collector, tracker, patches = OutputCollector(max_chars=10_000), OutputTracker(), []
for kind, content in [
    ("stream", {"name": "stdout", "text": "loading"}),
    ("stream", {"name": "stdout", "text": "... done\n"}),
    ("display_data", {"data": {"text/plain": "10%"}, "metadata": {},
                      "transient": {"display_id": "bar"}}),
    ("stream", {"name": "stderr", "text": "warning\n"}),
    ("update_display_data", {"data": {"text/plain": "90%"}, "metadata": {},
                             "transient": {"display_id": "bar"}}),
    ("stream", {"name": "stderr", "text": "again\n"}),
    ("clear_output", {"wait": False}),
    ("execute_result", {"data": {"text/plain": "42"}, "metadata": {}, "execution_count": 3}),
]:
    collector.add({"header": {"msg_type": kind}, "parent_header": {}, "content": content})
    patch = tracker.patch(collector.outputs)
    patches.append({"patch": patch, "expected": json.loads(json.dumps(collector.outputs))})
# A finished action, as live clients get it: its outputs as a patch from the live ones.
live_outputs = json.loads(json.dumps(patches[-1]["expected"]))
finished = Episode(task="t")
finished.event(EventType.EPISODE_STARTED, task="t", settings={})
finished.step_event(EventType.ACTION, StepKind.ACTION, code="x", outputs=[], status="running")
finished.event(EventType.OUTPUT, step_id=finished.steps[0].id, outputs=live_outputs)
final = [*live_outputs, {"output_type": "stream", "name": "stderr", "text": "[... cut ...]"}]
wire = {"step_id": finished.steps[0].id, "status": "ok",
        "outputs_patch": diff_outputs(live_outputs, final)}
finished.event(EventType.ACTION_FINISHED, **wire)
assert finished.steps[0].data["outputs"] == final
out = Path(__file__).parent / "fixtures" / "output_patches.json"
out.write_text(json.dumps({"patches": patches, "finish": {"live": live_outputs, "data": wire,
                                                          "expected": final}}, indent=2) + "\n")
print(f"wrote {len(patches)} output patches to {out}")
