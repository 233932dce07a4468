"""The prompt as sent: notebook text in user messages, and condensing to fit a context."""

from __future__ import annotations

import pytest

from codeact_lab.agent import Episode, EventType, StepKind
from codeact_lab.agent.condense import (
    CODE,
    CUT,
    NOTEBOOK,
    OMITTED,
    Budget,
    ContextOverflow,
    condense,
)
from codeact_lab.agent.messages import build_messages, prompt_parts
from codeact_lab.agent.tokens import estimate_tokens, prompt_tokens

SYSTEM = "You solve tasks with Python."
TASK = "Summarise the sales table."


def user(ep: Episode, text: str, notebook: str = "") -> None:
    extra = {"notebook": notebook} if notebook else {}
    ep.step_event(EventType.USER_MESSAGE, StepKind.USER, text=text, **extra)


def turn(ep: Episode, number: int, output: str, code: str = "print(rows)") -> None:
    reply = f"Turn {number}.\n<execute>\n{code}\n</execute>"
    ep.step_event(EventType.ASSISTANT_MESSAGE, StepKind.ASSISTANT, text=reply, turn=number)
    ep.step_event(EventType.OBSERVATION, StepKind.OBSERVATION, text=output, images=[], turn=number)


def output(number: int, chars: int = 4000) -> str:
    line = f"row {number}: " + "alpha beta gamma delta " * 3 + "\n"
    return (line * (chars // len(line) + 1))[:chars]


def episode(turns: int, chars: int = 4000) -> Episode:
    ep = Episode(task=TASK)
    user(ep, TASK)
    for n in range(1, turns + 1):
        turn(ep, n, output(n, chars))
    return ep


def prompt(ep: Episode, budget: Budget, previous=None):
    return condense(prompt_parts(ep, SYSTEM), budget, previous=previous)


def roles_alternate(messages) -> bool:
    """System first, then the task; a reply always follows a user message, and the
    prompt ends with a user message."""
    roles = [m["role"] for m in messages]
    replies_follow_users = all(
        roles[i - 1] == "user" for i, role in enumerate(roles) if role == "assistant"
    )
    return roles[:2] == ["system", "user"] and replies_follow_users and roles[-1] == "user"


def test_a_user_message_with_notebook_text_is_sent_notebook_first():
    ep = Episode(task=TASK)
    user(ep, TASK, notebook="Notebook sales.ipynb\n[1] df = load()")
    user(ep, "and plot it")
    messages = build_messages(ep, SYSTEM)
    assert messages[1] == {
        "role": "user",
        "content": "Notebook sales.ipynb\n[1] df = load()\n\n" + TASK,
    }
    assert messages[2] == {"role": "user", "content": "and plot it"}


def test_a_prompt_that_fits_is_sent_whole():
    ep = episode(3)
    result = prompt(ep, Budget(32_768, 1024))
    assert result.messages == build_messages(ep, SYSTEM)
    assert result.condensed == {}
    assert result.tokens == prompt_tokens(result.messages)


def test_older_observations_lose_their_middle_first_and_the_latest_turn_is_whole():
    ep = episode(6)
    whole = build_messages(ep, SYSTEM)
    budget = Budget(6000, 1000)
    assert prompt_tokens(whole) > budget.prompt_tokens  # it must be condensed
    result = prompt(ep, budget)
    assert result.tokens <= budget.prompt_tokens
    assert set(result.condensed) == {CUT}
    sent = result.messages
    assert sent[:2] == whole[:2]  # the system prompt and the task
    assert sent[-2:] == whole[-2:]  # the latest reply and its observation
    cut = [m for m in sent if "characters cut" in m["content"]]
    assert cut and all(m["content"].startswith("Observation:\nrow ") for m in cut)
    assert len(sent) == len(whole)  # nothing dropped yet
    # The oldest were shortened first.
    assert result.condensed[CUT][0] == ep.steps_of(StepKind.OBSERVATION)[0].id


def test_then_observations_become_one_line_then_replies_lose_their_code():
    ep = Episode(task=TASK)
    user(ep, TASK)
    long_code = "\n".join(f"value_{i} = compute({i}, table)" for i in range(80))
    for n in range(1, 9):
        turn(ep, n, output(n), code=long_code)
    result = prompt(ep, Budget(8192, 1024))
    assert result.tokens <= 7168 and "dropped" not in result.condensed
    assert "[output of turn 1: 4,000 characters, omitted to fit the model's context]" in [
        m["content"].removeprefix("Observation:\n") for m in result.messages
    ]
    assert set(result.condensed) >= {OMITTED, CODE}
    reply = result.messages[2]["content"]
    assert reply.startswith("Turn 1.\n<execute>\nvalue_0") and reply.endswith("</execute>")
    assert "characters cut" in reply


def test_the_oldest_turns_are_dropped_last_as_one_note_and_roles_alternate():
    ep = episode(40, chars=4000)
    result = prompt(ep, Budget(4096, 1024))
    assert result.tokens <= 3072
    sent = result.messages
    assert roles_alternate(sent)
    assert sent[1]["content"].startswith(TASK + "\n\n[")
    assert "earlier messages of this conversation (turns 1-" in sent[1]["content"]
    assert sent[2]["role"] == "assistant"
    whole = build_messages(ep, SYSTEM)
    assert sent[-2:] == whole[-2:]
    dropped = result.condensed["dropped"]
    assert dropped["messages"] == len(whole) - len(sent)


def test_condensing_is_stable_from_one_turn_to_the_next():
    """What one request shortened, the next shortens the same way, and a turn that
    fits after a condensing appends to an unchanged prompt."""
    ep = episode(2)
    budget = Budget(8192, 1024)
    previous, sent_before = None, None
    unchanged_prefix = 0
    for n in range(3, 40):
        result = prompt(ep, budget, previous)
        assert result.tokens <= budget.prompt_tokens and roles_alternate(result.messages)
        if previous:
            for level in (CUT, OMITTED, CODE):
                # Shortened before: shortened still (or more, or dropped).
                for step_id in previous.get(level, []):
                    again = {i for lv in (CUT, OMITTED, CODE) for i in result.condensed.get(lv, [])}
                    dropped_through = result.condensed.get("dropped", {}).get("through", "")
                    assert step_id in again or step_id <= dropped_through
            if result.messages[: len(sent_before)] == sent_before:
                unchanged_prefix += 1
        previous, sent_before = result.condensed, result.messages
        turn(ep, n, output(n))
    # Most turns only append: the prompt was rewritten on at most half of them.
    assert unchanged_prefix >= 36 // 2


def test_the_latest_notebook_text_and_the_task_are_kept_older_notebook_text_is_cut():
    notebook = "\n".join(f"[{i}] cell {i}: df = df[df.price > {i}]" for i in range(200))
    ep = Episode(task=TASK)
    user(ep, TASK, notebook=notebook)
    for n in range(1, 4):
        turn(ep, n, output(n))
    user(ep, "now plot it", notebook="Changes since your last message:\n" + notebook)
    for n in range(4, 7):
        turn(ep, n, output(n))
    result = prompt(ep, Budget(8192, 1024))
    assert result.tokens <= 7168
    assert NOTEBOOK in result.condensed
    task, latest = result.messages[1]["content"], None
    assert task.endswith(TASK) and "characters cut" in task  # the task's notebook text, cut
    latest = next(m for m in result.messages if m["content"].endswith("now plot it"))
    assert latest["content"] == f"Changes since your last message:\n{notebook}\n\nnow plot it"


def test_a_prompt_that_cannot_fit_raises_with_the_numbers():
    ep = Episode(task="x")
    user(ep, "compute " * 3000)
    with pytest.raises(ContextOverflow) as err:
        prompt(ep, Budget(4096, 1024))
    message = str(err.value)
    assert "4,096" in message and "3,072" in message and "1,024" in message
    assert err.value.needed > 3072


def test_the_estimate_counts_digits_one_each_and_errs_high_on_code():
    assert estimate_tokens("1234567890") == 10
    code = "def add(a, b):\n    return a + b\n"
    assert 10 <= estimate_tokens(code) <= 20  # Qwen2.5: 14
    assert estimate_tokens("") == 0
