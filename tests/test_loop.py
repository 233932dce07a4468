"""The CodeAct loop end to end: scripted model over real HTTP, real kernel."""

from __future__ import annotations

import asyncio
import time

from codeact_lab.agent import (
    ActionStatus,
    Decision,
    Episode,
    EventType,
    FinalState,
    Policy,
    StepKind,
    StopSignal,
    run,
)
from codeact_lab.agent.observation import NO_OUTPUT
from codeact_lab.agent.prompts import FORMAT_REMINDER


async def drive(episode, llm, executor, policy=None, **kwargs):
    events = []
    async for ev in run(episode, llm, executor, policy or Policy(), **kwargs):
        events.append(ev)
    return events


def observations(episode):
    return [s.data["text"] for s in episode.steps_of(StepKind.OBSERVATION)]


async def test_error_then_fix_then_solution(scripted, make_llm, executor):
    scripted.script(
        {"text": "Computing.\n<execute>\nvalues = [1, 2, 3]\nprint(sum(value))\n</execute>"},
        {"text": "A typo.\n<execute>\nprint(sum(values) * 2)\n</execute>"},
        {"text": "Done: <solution>12</solution>"},
    )
    ep = Episode(task="double the sum of 1, 2, 3")
    events = await drive(ep, make_llm(), executor)

    assert ep.state is FinalState.SOLVED and ep.solution == "12"
    assert ep.turns == 3
    actions = ep.steps_of(StepKind.ACTION)
    assert [a.data["status"] for a in actions] == ["error", "ok"]
    assert actions[1].data["outputs"][0]["text"] == "12\n"
    assert actions[1].data["execution_count"] > actions[0].data["execution_count"]
    # The model was told the real traceback (no ANSI codes) and then the real output.
    second_request = scripted.requests[1]["messages"]
    assert second_request[-1]["role"] == "user"
    assert "NameError" in second_request[-1]["content"]
    assert "\x1b[" not in second_request[-1]["content"]
    assert scripted.requests[2]["messages"][-1]["content"] == "Observation:\n12"
    # Events are numbered without gaps and the record replays from them.
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    stored = [e for e in events if e.type is not EventType.TEXT_DELTA]
    assert Episode.replay(stored, id=ep.id, created=ep.created).to_dict() == ep.to_dict()


async def test_solution_on_first_turn(scripted, make_llm, executor):
    scripted.script({"text": "<solution>4</solution>"})
    ep = Episode(task="2 + 2?")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "4" and ep.turns == 1
    assert not ep.steps_of(StepKind.ACTION)


async def test_text_deltas_stream_the_reply(scripted, make_llm, executor):
    scripted.script({"text": "Thinking about it. " * 5 + "<solution>ok</solution>", "chunk": 3})
    ep = Episode(task="t")
    events = await drive(ep, make_llm(), executor)
    deltas = [e.data["text"] for e in events if e.type is EventType.TEXT_DELTA]
    assert len(deltas) > 10
    assert "".join(deltas) == ep.steps_of(StepKind.ASSISTANT)[0].data["text"]


async def test_max_turns(scripted, make_llm, executor):
    counter = iter(range(100))
    scripted.default = lambda body: {"text": f"<execute>\nprint({next(counter)})\n</execute>"}
    ep = Episode(task="loop forever")
    await drive(ep, make_llm(), executor, Policy(max_turns=3))
    assert ep.state is FinalState.MAX_TURNS
    assert ep.turns == 3 and len(scripted.requests) == 3


async def test_reply_without_action_ends_the_turn(scripted, make_llm, executor):
    scripted.script({"text": "Could you tell me which file you mean?"})
    ep = Episode(task="load the file")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.REPLIED
    assert len(scripted.requests) == 1


async def test_no_output_is_reported_explicitly(scripted, make_llm, executor):
    scripted.script({"text": "<execute>\ny = 5\n</execute>"}, {"text": "<solution>5</solution>"})
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert observations(ep) == [NO_OUTPUT]


async def test_fenced_code_is_run_and_the_model_reminded(scripted, make_llm, executor):
    scripted.script(
        {"text": "Here:\n```python\nprint(6 * 7)\n```\n"}, {"text": "<solution>42</solution>"}
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED
    action = ep.steps_of(StepKind.ACTION)[0]
    assert action.data["format"] == "fence" and action.data["outputs"][0]["text"] == "42\n"
    assert observations(ep)[0] == "42\n\n" + FORMAT_REMINDER


async def test_several_actions_run_in_order_and_stop_at_a_failure(scripted, make_llm, executor):
    scripted.script(
        {
            "text": "<execute>a = 1</execute> <execute>1/0</execute> <execute>print('never')</execute>",
            # no stop sequence cut: the model wrote all three blocks at once
        },
        {"text": "<solution>done</solution>"},
    )
    llm = make_llm(use_stop_sequence=False)
    ep = Episode(task="t")
    await drive(ep, llm, executor)
    statuses = [a.data["status"] for a in ep.steps_of(StepKind.ACTION)]
    assert statuses == ["ok", "error", "skipped"]
    obs = observations(ep)[0]
    assert obs.startswith("Action 1:\n" + NO_OUTPUT)
    assert "ZeroDivisionError" in obs and "Action 3:\n[Not run" in obs


async def test_solution_after_action_is_accepted_once_the_action_ran(scripted, make_llm, executor):
    scripted.script({"text": "<execute>print(2 ** 10)</execute>\n<solution>1024</solution>"})
    ep = Episode(task="t")
    await drive(ep, make_llm(use_stop_sequence=False), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "1024"
    assert ep.steps_of(StepKind.ACTION)[0].data["status"] == "ok"


async def test_solution_after_failed_action_is_refused(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>undefined_thing</execute>\n<solution>7</solution>"},
        {"text": "<solution>fixed</solution>"},
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(use_stop_sequence=False), executor)
    assert ep.solution == "fixed" and ep.turns == 2
    assert "was not accepted" in observations(ep)[0]


async def test_action_timeout_interrupts_and_tells_the_model(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>\nimport time\ntime.sleep(600)\n</execute>"},
        {"text": "<execute>print('alive')</execute>"},
        {"text": "<solution>ok</solution>"},
    )
    ep = Episode(task="t")
    started = time.monotonic()
    await drive(ep, make_llm(), executor, Policy(action_timeout=1.0))
    assert time.monotonic() - started < 10
    first, second = ep.steps_of(StepKind.ACTION)
    assert first.data["status"] == "timeout" and second.data["status"] == "ok"
    assert "timed out after 1 s" in observations(ep)[0]
    assert "KeyboardInterrupt" in observations(ep)[0]


async def test_model_failure_ends_with_a_clear_error_and_keeps_the_record(
    scripted, make_llm, executor
):
    scripted.script(
        {"text": "<execute>print('first')</execute>"},
        *[{"status": 500, "message": "upstream exploded"}] * 3,
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(max_retries=2), executor)
    assert ep.state is FinalState.FAILED
    assert "500" in ep.reason and "upstream exploded" in ep.reason
    assert ep.steps_of(StepKind.ACTION)[0].data["status"] == "ok"  # nothing lost
    assert ep.steps_of(StepKind.ERROR)[0].data["kind"] == "model"


async def test_retry_mid_stream_is_announced(scripted, make_llm, executor):
    scripted.script(
        {"text": "<solution>partial answer that breaks</solution>", "close_after": 8, "chunk": 4},
        {"text": "<solution>whole</solution>"},
    )
    ep = Episode(task="t")
    events = await drive(ep, make_llm(), executor)
    assert ep.solution == "whole"
    retry = [e for e in events if e.type is EventType.MODEL_RETRY]
    assert len(retry) == 1 and "closed" in retry[0].data["reason"]


async def test_stop_mid_stream_cancels_the_model(scripted, make_llm, executor):
    scripted.script({"text": "word " * 400, "chunk": 5, "delay": 0.01})
    ep = Episode(task="t")
    stop = StopSignal()
    events = []
    started = None
    async for ev in run(ep, make_llm(), executor, Policy(), stop=stop):
        events.append(ev)
        if ev.type is EventType.TEXT_DELTA and started is None:
            started = time.monotonic()
            stop.set("stop pressed")
    assert ep.state is FinalState.STOPPED and ep.reason == "stop pressed"
    assert time.monotonic() - started < 1.0
    deltas = [e for e in events if e.type is EventType.TEXT_DELTA]
    assert len(deltas) < 50  # the stream was cut, not read to its end


async def test_stop_mid_action_interrupts_the_kernel(scripted, make_llm, executor):
    scripted.script({"text": "<execute>\nimport time\nx = 1\ntime.sleep(600)\n</execute>"})
    ep = Episode(task="t")
    stop = StopSignal()

    async def stop_when_running():
        while not any(s.data.get("status") == "running" for s in ep.steps_of(StepKind.ACTION)):
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        stop.set()
        return time.monotonic()

    stopper = asyncio.ensure_future(stop_when_running())
    await drive(ep, make_llm(), executor, Policy(action_timeout=None), stop=stop)
    latency = time.monotonic() - await stopper
    assert ep.state is FinalState.STOPPED
    assert ep.steps_of(StepKind.ACTION)[0].data["status"] == "interrupted"
    assert latency < 0.5
    result = await executor.execute("print(x + 1)", 10)  # the kernel is idle and kept its state
    assert result.status is ActionStatus.OK and result.outputs[0]["text"] == "2\n"


async def test_approval_reject_with_note_then_approve(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>\nimport shutil; shutil.rmtree('/tmp/nothing-here')\n</execute>"},
        {"text": "<execute>print('safe')</execute>"},
        {"text": "<solution>safe</solution>"},
    )
    asked = []

    async def approver(episode, step):
        asked.append(step.data["code"])
        if "rmtree" in step.data["code"]:
            return Decision(False, "do not delete files")
        return Decision(True)

    ep = Episode(task="t")
    events = await drive(ep, make_llm(), executor, Policy(approver=approver))
    assert ep.state is FinalState.SOLVED and len(asked) == 2
    first, second = ep.steps_of(StepKind.ACTION)
    assert first.data["status"] == "rejected" and first.data["outputs"] == []
    assert second.data["approval"] == {"decision": "approve", "note": None}
    assert "rejected this action: do not delete files" in observations(ep)[0]
    assert sum(e.type is EventType.AWAITING_APPROVAL for e in events) == 2


async def test_stop_while_awaiting_approval(scripted, make_llm, executor):
    scripted.script({"text": "<execute>print(1)</execute>"})
    stop = StopSignal()

    async def approver(episode, step):
        asyncio.get_running_loop().call_later(0.1, stop.set)
        await asyncio.sleep(600)
        return Decision(True)

    ep = Episode(task="t")
    await drive(ep, make_llm(), executor, Policy(approver=approver), stop=stop)
    assert ep.state is FinalState.STOPPED
    assert ep.steps_of(StepKind.ACTION)[0].data["status"] == "skipped"


async def test_follow_up_continues_with_history_and_kernel_state(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>total = 10</execute>"},
        {"text": "<solution>set</solution>"},
        {"text": "<execute>print(total * 3)</execute>"},
        {"text": "<solution>30</solution>"},
    )
    ep = Episode(task="set total to 10")
    llm = make_llm()
    await drive(ep, llm, executor)
    await drive(ep, llm, executor, message="now triple it")
    assert ep.state is FinalState.SOLVED and ep.solution == "30"
    sent = scripted.requests[2]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert sent[-1]["content"] == "now triple it"
    assert ep.steps_of(StepKind.ACTION)[1].data["outputs"][0]["text"] == "30\n"


async def test_budget_ends_the_episode(scripted, make_llm, executor):
    scripted.script({"text": "<execute>\nimport time; time.sleep(30)\n</execute>"})
    ep = Episode(task="t")
    started = time.monotonic()
    await drive(ep, make_llm(), executor, Policy(budget=1.0))
    assert time.monotonic() - started < 5
    assert ep.steps_of(StepKind.ACTION)[0].data["status"] == "timeout"
    assert ep.state is FinalState.BUDGET


async def test_long_output_is_cut_for_the_model_but_kept_in_the_cell(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>\nfor i in range(5000):\n    print(i)\n</execute>"},
        {"text": "<solution>printed</solution>"},
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor, Policy(max_output_chars=1000))
    sent = scripted.requests[1]["messages"][-1]["content"]
    assert "characters cut" in sent and len(sent) < 1200
    assert sent.startswith("Observation:\n0\n1\n2\n") and sent.endswith("4998\n4999")
    cell_text = ep.steps_of(StepKind.ACTION)[0].data["outputs"][0]["text"]
    assert cell_text.count("\n") == 5000


async def test_images_are_placeholders_for_text_models_and_sent_to_vision_models(
    scripted, make_llm, executor
):
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    code = (
        "from IPython.display import Image, display\nimport base64\n"
        f"display(Image(data=base64.b64decode('{png}')))"
    )
    for vision in (False, True):
        scripted.script(
            {"text": f"<execute>\n{code}\n</execute>"}, {"text": "<solution>ok</solution>"}
        )
        ep = Episode(task="t")
        await drive(ep, make_llm(), executor, Policy(vision=vision))
        content = scripted.requests[-1]["messages"][-1]["content"]
        if vision:
            assert content[0]["text"].startswith("Observation:\n[image: image/png")
            assert content[1]["image_url"]["url"] == f"data:image/png;base64,{png}"
        else:
            assert content == "Observation:\n[image: image/png, shown to the user]"


async def test_empty_reply_is_told_to_the_model(scripted, make_llm, executor):
    scripted.script({"text": ""}, {"text": "<solution>x</solution>"})
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED
    assert "Your reply was empty" in observations(ep)[0]


async def test_cut_off_action_is_not_run(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>\nprint('half", "finish_reason": "length"},
        {"text": "<solution>short</solution>"},
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert not ep.steps_of(StepKind.ACTION)
    assert "cut off" in observations(ep)[0]


async def test_ten_megabyte_output_is_bounded_for_the_model_and_the_record(
    scripted, make_llm, executor
):
    scripted.script(
        {"text": "<execute>\nprint('y' * 10_000_000)\n</execute>"},
        {"text": "<solution>big</solution>"},
    )
    ep = Episode(task="t")
    started = time.monotonic()
    await drive(ep, make_llm(), executor)
    assert time.monotonic() - started < 30
    assert ep.state is FinalState.SOLVED
    sent = scripted.requests[1]["messages"][-1]["content"]
    assert len(sent) < 4200 and "characters cut" in sent
    outputs = ep.steps_of(StepKind.ACTION)[0].data["outputs"]
    stored = sum(len(o.get("text", "")) for o in outputs)
    assert executor.max_stored_output_chars <= stored < executor.max_stored_output_chars + 200
    assert "more characters of output were not kept" in outputs[-1]["text"]


async def test_kernel_death_mid_action_fails_clearly_and_keeps_every_step(
    scripted, make_llm, executor
):
    scripted.script(
        {"text": "<execute>print('before')</execute>"},
        {"text": "<execute>\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n</execute>"},
    )
    ep = Episode(task="t")
    started = time.monotonic()
    await drive(ep, make_llm(), executor)
    assert time.monotonic() - started < 10
    assert ep.state is FinalState.FAILED and "kernel died" in ep.reason
    first, second = ep.steps_of(StepKind.ACTION)
    assert first.data["status"] == "ok" and second.data["status"] == "dead"
    assert "The kernel died" in observations(ep)[-1]
    assert ep.steps_of(StepKind.ERROR)[0].data["kind"] == "kernel"


async def test_translated_actions_run_as_code_and_bad_ones_are_reported(
    scripted, make_llm, executor
):
    def translate(content: str) -> str:
        name, _, arg = content.strip().partition(",")
        if not arg:
            raise ValueError(f"expected 'tool, argument', got {content.strip()!r}")
        return f"print({name.strip()}({arg.strip()}))"

    scripted.script(
        {"text": "<execute>abs</execute>"},
        {"text": "<execute>abs, -7</execute>"},
        {"text": "<solution>7</solution>"},
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor, Policy(translate_action=translate))
    bad, good = ep.steps_of(StepKind.ACTION)
    assert bad.data["status"] == "error" and bad.data["code"] == "abs"
    assert "ActionFormatError: expected 'tool, argument'" in observations(ep)[0]
    assert good.data["code"] == "print(abs(-7))" and good.data["content"] == "abs, -7"
    assert observations(ep)[1] == "7" and ep.solution == "7"
