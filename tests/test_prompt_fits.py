"""Every request fits the model's context: the loop end to end, scripted model over real
HTTP, real kernel. What the model was sent is what the scripted server received."""

from __future__ import annotations

from codeact_lab.agent import Episode, FinalState, Policy, StepKind, run
from codeact_lab.agent.tokens import prompt_tokens

# An action printing about 100 KB: 1,000 lines of words and numbers, like a table; a new
# one each turn (the same action three times in a row would end the episode as stuck).
BIG_OUTPUT = (
    "<execute>\nfor i in range(1000):\n"
    "    print(f'row {{i:4d}} of table {turn}: ' + 'sales north south east west ' * 3)\n"
    "</execute>"
)


async def drive(episode, llm, executor, policy):
    return [ev async for ev in run(episode, llm, executor, policy)]


async def test_forty_turns_of_100_kb_outputs_fit_a_4096_token_context(scripted, make_llm, executor):
    turns = 40

    def play(body):
        done = len(scripted.requests) - 1  # the replies before: the prompt no longer has them all
        text = BIG_OUTPUT.format(turn=done) if done < turns else "<solution>done</solution>"
        return {"text": f"Turn {done + 1}.\n{text}", "chunk": 256}

    scripted.default = play
    ep = Episode(task="print the table again and again")
    llm = make_llm(context_tokens=4096, max_tokens=1024)
    await drive(ep, llm, executor, Policy(max_turns=turns + 1))

    assert ep.state is FinalState.SOLVED
    assert len(scripted.requests) == turns + 1
    sent = [body["messages"] for body in scripted.requests]
    budget = 4096 - 1024
    assert max(prompt_tokens(messages) for messages in sent) <= budget
    replies = ep.steps_of(StepKind.ASSISTANT)
    observations = ep.steps_of(StepKind.OBSERVATION)
    # Each request ends with the latest turn whole: its reply and its observation.
    for n, messages in enumerate(sent[1:], start=1):
        assert messages[-2] == {"role": "assistant", "content": replies[n - 1].data["text"]}
        assert messages[-1] == {
            "role": "user",
            "content": "Observation:\n" + observations[n - 1].data["text"],
        }
        assert messages[0]["content"] == ep.system
        assert messages[1]["content"].startswith(ep.task)
    # The prompt levels off at the budget where it grew by a turn's output each turn.
    assert prompt_tokens(sent[-1]) > budget // 3
    assert replies[-1].data["condensed"]["dropped"]["messages"] > 40
    assert replies[-1].data["prompt_tokens"] <= budget
    assert replies[-1].data["context_tokens"] == 4096
    # The record keeps every output whole, and every observation as the model first read it.
    for action in ep.steps_of(StepKind.ACTION):
        printed = "".join(o.get("text", "") for o in action.data["outputs"])
        assert len(printed) >= 100_000 and printed.count("\n") == 1000
    assert all(len(o.data["text"]) > 3900 for o in observations)


async def test_a_request_that_cannot_fit_ends_the_turn_with_a_clear_error(
    scripted, make_llm, executor
):
    # The latest turn is always sent whole: an observation of 20,000 characters cannot
    # be, in a context of 4,096 tokens.
    scripted.script({"text": BIG_OUTPUT.format(turn=1)}, {"text": "<solution>never</solution>"})
    ep = Episode(task="print the table")
    llm = make_llm(context_tokens=4096, max_tokens=1024)
    await drive(ep, llm, executor, Policy(max_output_chars=20_000))

    assert len(scripted.requests) == 1  # the second request was never sent
    assert ep.state is FinalState.FAILED
    error = ep.steps_of(StepKind.ERROR)[-1]
    assert error.data["kind"] == "context"
    assert "4,096" in error.data["message"] and "1,024" in error.data["message"]
    assert ep.reason == error.data["message"]
    assert "does not fit the model's context" in ep.reason
