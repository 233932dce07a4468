"""Answers and repetition, end to end: the scripted model over HTTP, a real kernel.

final_answer() from code, the stuck rule (actions and rejected answers), the nudge to
verify an answer with code, and the reminder of the answer's stated form.
"""

from __future__ import annotations

import json

from codeact_lab.agent import Episode, FinalState, Policy, StepKind, run
from codeact_lab.agent.answer_review import checks_nothing
from codeact_lab.agent.prompts import (
    ANSWER_BEFORE_ACTION,
    ANSWER_FORM_REMINDER,
    ANSWER_IN_PROSE,
    CODE_ANSWER_AFTER_FAILURE,
    FRESH_START,
    FRESH_START_STEP_BY_STEP,
    FRESH_START_WITH_FUNCTIONS,
    NOT_RUN_ANSWERED,
    NOT_RUN_REPEATED,
    NOT_RUN_SAME_REPLY,
    NOT_RUN_STUCK,
    STARTING_OVER,
    USERS_FINAL_ANSWER,
    VERIFY_FIRST,
)

NO_FRESH_START = Policy(fresh_starts=0)  # the stuck rule alone: stuck ends the request
LEFT_BEHIND = "[n for n in ('final_answer',) if n in globals()] + [hasattr(__import__('sys'), '_codeact_final_answer')]"


async def drive(episode, llm, executor, policy=None, **kwargs):
    return [ev async for ev in run(episode, llm, executor, policy or Policy(), **kwargs)]


def observations(episode):
    return [s.data["text"] for s in episode.steps_of(StepKind.OBSERVATION)]


def statuses(episode):
    return [a.data["status"] for a in episode.steps_of(StepKind.ACTION)]


# ---- final_answer() from code ----
async def test_final_answer_gives_the_exact_value_and_leaves_nothing(scripted, make_llm, executor):
    scripted.script({"text": "<execute>\nx = 2 ** 0.5 / 3\nfinal_answer(x)\n</execute>"})
    ep = Episode(task="the square root of 2, over 3")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.turns == 1
    assert ep.solution == str(2**0.5 / 3) == "0.47140452079103173"  # every digit
    solution = ep.steps_of(StepKind.SOLUTION)[0].data
    assert solution["source"] == "code"
    assert solution["action_id"] == ep.steps_of(StepKind.ACTION)[0].id
    assert len(scripted.requests) == 1  # the code's answer ended it: no model call after
    assert await executor.evaluate(LEFT_BEHIND) == [False]
    assert await executor.evaluate("x") == 2**0.5 / 3  # the action's own variables stay


async def test_final_answer_keeps_a_formatted_answer(scripted, make_llm, executor):
    code = "a, b = 1, 2\nfinal_answer(f'@a[{a}] @b[{b}]')\nprint('after')"
    scripted.script({"text": f"<execute>\n{code}\n</execute>"})
    ep = Episode(task="Give a and b as @a[value] @b[value].")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "@a[1] @b[2]"
    # the cell still shows the code and what it printed; the last call wins
    action = ep.steps_of(StepKind.ACTION)[0]
    assert action.data["code"] == code and action.data["outputs"][0]["text"] == "after\n"
    assert await executor.evaluate(LEFT_BEHIND) == [False]


async def test_a_users_own_final_answer_is_left_alone(scripted, make_llm, executor):
    await executor.execute("final_answer = 'mine'", 10)
    scripted.script(
        {"text": "<execute>\nprint(final_answer)\n</execute>"},
        {"text": "<solution>mine</solution>"},
    )
    ep = Episode(task="what is final_answer?")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "mine"
    first = observations(ep)[0]
    assert first.startswith("mine") and USERS_FINAL_ANSWER in first
    assert await executor.evaluate("final_answer") == "mine"
    assert await executor.evaluate(LEFT_BEHIND) == ["final_answer", False]


async def test_a_users_own_final_answer_function_is_called_not_taken(scripted, make_llm, executor):
    await executor.execute("def final_answer(x):\n    return x * 2", 10)
    scripted.script(
        {"text": "<execute>\nprint(final_answer(21))\n</execute>"},
        {"text": "<execute>\nprint(final_answer(4))\n</execute>"},
        {"text": "<solution>42</solution>"},
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert ep.solution == "42" and ep.turns == 3  # the user's function, never an answer
    assert sum(USERS_FINAL_ANSWER in text for text in observations(ep)) == 1  # told once
    assert await executor.evaluate("final_answer(5)") == 10


async def test_an_answer_from_code_that_then_fails_is_not_taken(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>\nfinal_answer(5)\n1 / 0\n</execute>"},
        {"text": "<execute>\nfinal_answer(6)\n</execute>"},
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert ep.solution == "6" and ep.turns == 2
    assert CODE_ANSWER_AFTER_FAILURE in observations(ep)[0]
    assert ep.steps_of(StepKind.OBSERVATION)[0].data["refused_answer"] == {
        "text": "5",
        "why": "failed_action",
        "action_id": ep.steps_of(StepKind.ACTION)[0].id,  # the code that gave it
    }
    assert await executor.evaluate(LEFT_BEHIND) == [False]


async def test_the_rest_of_a_reply_after_final_answer_does_not_run(scripted, make_llm, executor):
    scripted.script(
        {
            "text": "<execute>final_answer('done')</execute>\n<execute>print('more')</execute>\n"
            "<solution>retyped</solution>"
        }
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(use_stop_sequence=False), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "done"  # the code's, not retyped
    assert statuses(ep) == ["ok", "skipped"]
    assert NOT_RUN_ANSWERED in observations(ep)[0]


# ---- the stuck rule ----
async def test_the_third_identical_action_in_a_row_is_not_run(scripted, make_llm, executor):
    code = "n = globals().get('n', 0) + 1\nprint('count', n)"
    scripted.default = {"text": f"Again.\n<execute>\n{code}\n</execute>"}
    ep = Episode(task="count")
    await drive(ep, make_llm(), executor, NO_FRESH_START)
    assert ep.state is FinalState.STUCK and ep.turns == 3
    assert "third time in a row" in ep.reason
    assert statuses(ep) == ["ok", "ok", "skipped"]
    assert await executor.evaluate("n") == 2  # the third was never run
    first, second, third = observations(ep)
    assert "in turn" not in first
    # the second gets the stronger note, quoting what the first returned
    assert "twice in a row now (turn 1 too)" in second
    assert 'last time it returned: "count 1"' in second
    assert "a third time ends the task as stuck" in second
    assert third == NOT_RUN_STUCK


async def test_an_earlier_identical_action_is_pointed_out_with_what_it_returned(
    scripted, make_llm, executor
):
    scripted.script(
        {"text": "<execute>print(6 * 7)</execute>"},
        {"text": "<execute>print('other')</execute>"},
        {"text": "<execute>print(6 * 7)</execute>"},
        {"text": "<solution>42</solution>"},
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and statuses(ep) == ["ok", "ok", "ok"]
    assert 'You already ran this exact code in turn 1, and it returned: "42"' in observations(ep)[2]


async def test_a_follow_up_starts_a_new_row(scripted, make_llm, executor):
    action = {"text": "<execute>print('same')</execute>"}
    scripted.script(action, action, {"text": "<solution>a</solution>"})
    scripted.script(action, {"text": "<solution>b</solution>"})
    ep = Episode(task="t")
    llm = make_llm()
    await drive(ep, llm, executor, NO_FRESH_START)
    await drive(ep, llm, executor, NO_FRESH_START, message="run it once more")
    assert ep.state is FinalState.SOLVED and ep.solution == "b"
    assert statuses(ep) == ["ok", "ok", "ok"]


async def test_the_same_answer_after_incorrect_is_pointed_out_then_stuck(
    scripted, make_llm, executor
):
    scripted.script(
        {"text": "<solution>7</solution>"},
        {"text": "It is <solution> 7 </solution>"},
        {"text": "<solution>7</solution>"},
    )
    ep = Episode(task="t")
    llm = make_llm()
    await drive(ep, llm, executor)
    assert ep.state is FinalState.SOLVED
    await drive(
        ep, llm, executor, NO_FRESH_START, message="Your answer is incorrect.", rejects_answer=True
    )
    assert ep.state is FinalState.STUCK and ep.turns == 3
    assert ep.reason == "the model gave the same rejected answer a third time"
    repeat = observations(ep)[0]
    assert "already gave this answer in turn 1" in repeat and "run code to check it" in repeat
    assert ep.steps_of(StepKind.USER)[1].data["rejects_answer"] is True
    assert [s.data["text"] for s in ep.steps_of(StepKind.SOLUTION)] == ["7"]


async def test_a_repeated_answer_is_fine_when_nobody_rejected_it(scripted, make_llm, executor):
    scripted.script({"text": "<solution>done</solution>"}, {"text": "<solution>done</solution>"})
    ep = Episode(task="t")
    llm = make_llm()
    await drive(ep, llm, executor)
    await drive(ep, llm, executor, message="now the same for 2020")  # a follow-up, not a no
    assert ep.state is FinalState.SOLVED and len(ep.steps_of(StepKind.SOLUTION)) == 2


# ---- answer discipline (issue 13) ----
async def test_an_answer_without_any_action_gets_one_nudge_to_verify(scripted, make_llm, executor):
    scripted.script(
        {"text": "<solution>3</solution>"},
        {"text": "<execute>print(1 + 2)</execute>"},
        {"text": "<solution>3</solution>"},
    )
    ep = Episode(task="1 + 2?")
    await drive(ep, make_llm(), executor, Policy(verify_note=VERIFY_FIRST))
    assert ep.state is FinalState.SOLVED and ep.solution == "3" and ep.turns == 3
    assert observations(ep)[0] == VERIFY_FIRST
    assert ep.steps_of(StepKind.OBSERVATION)[0].data["refused_answer"]["why"] == "verify"


async def test_a_typed_in_value_given_to_final_answer_after_a_failure_is_not_verified(
    scripted, make_llm, executor
):
    """Seen: a made-up file raised, and the next action was final_answer("No such file")."""
    scripted.script(
        {"text": "<execute>open('data.csv').read()</execute>"},
        {"text": "<execute>\nfinal_answer('No such file')\n</execute>"},
        {"text": "<execute>\ntotal = 1 + 2\nfinal_answer(total)\n</execute>"},
    )
    ep = Episode(task="1 + 2?")
    await drive(ep, make_llm(), executor, Policy(verify_note=VERIFY_FIRST))
    assert ep.state is FinalState.SOLVED and ep.solution == "3" and ep.turns == 3
    second = ep.steps_of(StepKind.OBSERVATION)[1]
    assert VERIFY_FIRST in second.data["text"]
    assert second.data["refused_answer"] == {
        "text": "No such file",
        "why": "verify",
        "action_id": ep.steps_of(StepKind.ACTION)[1].id,
    }


def test_what_counts_as_checking_an_answer():
    assert checks_nothing("final_answer('No such file')")
    assert checks_nothing("print('it is 3')\nfinal_answer(3)")
    assert not checks_nothing("final_answer(total)")
    assert not checks_nothing("final_answer(f'@city[{largest}]')")
    assert not checks_nothing("x = 3\nfinal_answer(3)")
    assert not checks_nothing("print(1 + 2)")
    assert not checks_nothing("final_answer(")


async def test_the_verify_nudge_comes_once(scripted, make_llm, executor):
    scripted.script({"text": "<solution>3</solution>"}, {"text": "<solution>3</solution>"})
    ep = Episode(task="1 + 2?")
    await drive(ep, make_llm(), executor, Policy(verify_note=VERIFY_FIRST))
    assert ep.state is FinalState.SOLVED and ep.turns == 2


async def test_an_answer_after_a_successful_action_in_the_same_reply_is_verified(
    scripted, make_llm, executor
):
    scripted.script({"text": "<execute>print(2 ** 10)</execute>\n<solution>1024</solution>"})
    ep = Episode(task="t")
    policy = Policy(verify_note=VERIFY_FIRST)
    await drive(ep, make_llm(use_stop_sequence=False), executor, policy)
    assert ep.state is FinalState.SOLVED and ep.solution == "1024" and ep.turns == 1


async def test_an_answer_out_of_the_stated_form_gets_one_reminder(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>print(6 * 7, 6 + 7)</execute>"},
        {"text": "<solution>42, 13</solution>"},
        {"text": "<solution>@product[42] @sum[13]</solution>"},
    )
    ep = Episode(task="Multiply and add 6 and 7. Answer as @product[value] @sum[value].")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "@product[42] @sum[13]"
    reminder = observations(ep)[1]
    assert reminder == ANSWER_FORM_REMINDER.format(form="@product[...] @sum[...]")


async def test_the_form_reminder_comes_once_and_covers_code_answers(scripted, make_llm, executor):
    scripted.script(
        {"text": "<execute>final_answer(42)</execute>"},
        {"text": "<execute>final_answer(42)</execute>"},
    )
    ep = Episode(task="6 * 7? Answer as @product[value].")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "42" and ep.turns == 2
    assert "@product[...]" in observations(ep)[0]
    assert ep.steps_of(StepKind.OBSERVATION)[0].data["refused_answer"]["why"] == "format"


async def test_a_long_answer_with_newlines_and_quotes_comes_back_whole(
    scripted, make_llm, executor
):
    code = "rows = [f\"row {i}: 'q' \\\\ \\\"dq\\\"\" for i in range(300)]\nfinal_answer('\\n'.join(rows))"
    scripted.script({"text": f"<execute>\n{code}\n</execute>"})
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    expected = "\n".join(f"row {i}: 'q' \\ \"dq\"" for i in range(300))
    assert ep.state is FinalState.SOLVED and ep.solution == expected


async def test_the_same_malformed_action_a_third_time_ends_stuck(scripted, make_llm, executor):
    def translate(content: str) -> str:
        raise ValueError("not a call")

    scripted.default = {"text": "<execute>nonsense</execute>"}
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor, Policy(translate_action=translate, fresh_starts=0))
    assert ep.state is FinalState.STUCK and ep.turns == 3
    assert statuses(ep) == ["error", "error", "skipped"]


# ---- an answer in prose, after code ran ----
async def test_a_prose_answer_after_code_gets_one_reminder_then_is_taken(
    scripted, make_llm, executor
):
    scripted.script(
        {"text": "<execute>\nprint(6 * 7)\n</execute>"},
        {"text": "The answer is 42."},  # right, but neither code nor an answer tag
        {"text": "<solution>42</solution>"},
    )
    ep = Episode(task="what is six times seven?")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "42"
    assert observations(ep)[-1] == ANSWER_IN_PROSE
    assert ep.steps_of(StepKind.OBSERVATION)[-1].data["note"] == "prose"
    # The prose stays in the model's view: with it left out, the embedded model answered
    # "Oslo" from a DataFrame's output after saying "... is Cairo." (local_tasks dataframe).
    asked = scripted.requests[2]["messages"]
    assert [m["role"] for m in asked] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert asked[-2]["content"] == "The answer is 42."
    assert asked[-1]["content"] == f"Observation:\n{ANSWER_IN_PROSE}"


async def test_prose_again_after_the_reminder_is_the_answer_and_chat_ends_at_once(
    scripted, make_llm, executor
):
    scripted.script(
        {"text": "<execute>\nprint(1)\n</execute>"},
        {"text": "Done."},
        {"text": "It printed what you asked for."},
    )
    ep = Episode(task="print one")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.turns == 3
    assert ep.solution == "It printed what you asked for."  # no value in it: as written
    assert "source" not in ep.steps_of(StepKind.SOLUTION)[0].data
    assert observations(ep).count(ANSWER_IN_PROSE) == 1

    scripted.script({"text": "Hello! What shall I do in your notebook?"})
    chat = Episode(task="hi")
    await drive(chat, make_llm(), executor)
    assert chat.state is FinalState.REPLIED and chat.turns == 1  # no code ran: no reminder


async def test_a_prose_answer_given_twice_is_the_printed_value_it_names(
    scripted, make_llm, executor
):
    """Seen on the embedded model (decoder/most_vowels): the right word printed, then "The
    word with the most vowels is banana." twice; the sentence was taken, and was not the
    bare answer the task asked for."""
    sentence = "The word with the most vowels is banana."
    code = "words = ['apple', 'banana', 'cherry']\nprint(words, max(words, key=lambda w: sum(c in 'aeiou' for c in w)))"
    scripted.script(
        {"text": f"<execute>\n{code}\n</execute>"}, {"text": sentence}, {"text": sentence}
    )
    ep = Episode(task="Which of the three fruit words has the most vowels? Give only the word.")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.turns == 3
    assert ep.solution == "banana"
    solution = ep.steps_of(StepKind.SOLUTION)[0].data
    assert solution["source"] == "prose" and solution["prose"] == sentence


async def test_a_prose_answer_stays_as_written_when_its_value_is_in_doubt(
    scripted, make_llm, executor
):
    two = "The cheapest flight is TL103 at 121.0 euros."
    scripted.script(
        {"text": "<execute>\nprint('TL103', 121.0)\n</execute>"}, {"text": two}, {"text": two}
    )
    ep = Episode(task="Which flight is the cheapest?")
    await drive(ep, make_llm(), executor)
    assert ep.solution == two  # two printed values: which one answers is not ours to say
    # asked for @name[value]: that form decides, not a value read from the sentence
    said = "The mean is 4.59."
    scripted.script({"text": "<execute>\nprint(4.59)\n</execute>"}, {"text": said}, {"text": said})
    ep = Episode(task="What is the mean? Answer as @mean[value].")
    await drive(ep, make_llm(), executor)
    assert ep.steps_of(StepKind.OBSERVATION)[-1].data["refused_answer"] == {
        "text": said, "why": "format"
    }  # fmt: skip


# ---- the answer in the form the user asked for, not the worked example's ----
async def test_a_single_named_answer_the_task_did_not_ask_for_is_its_value(
    scripted, make_llm, executor
):
    """The system prompt's example answers as @total[value]; a small model copies that form
    into tasks that never asked for it. The user gets the value, exactly as computed."""
    scripted.script(
        {"text": "<execute>\nprice = 1406.98\nfinal_answer(f'@price_nok[{price}]')\n</execute>"},
    )
    ep = Episode(task="What does the cheapest flight cost in NOK?")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "1406.98"
    scripted.script({"text": "<solution> @total[4] </solution>"})
    ep = Episode(task="What is 2 + 2?")
    await drive(ep, make_llm(), executor, Policy())
    assert ep.solution == "4"


async def test_a_named_answer_stays_when_asked_for_or_not_a_single_value(
    scripted, make_llm, executor
):
    scripted.script({"text": "<solution>@total[4]</solution>"})
    ep = Episode(task="What is 2 + 2? Answer as @total[value].")
    await drive(ep, make_llm(), executor)
    assert ep.solution == "@total[4]"
    scripted.script({"text": "<solution>@a[1] @b[2]</solution>"})
    ep = Episode(task="What are a and b?")
    await drive(ep, make_llm(), executor)
    assert ep.solution == "@a[1] @b[2]"  # two values: which one is meant is not ours to say
    scripted.script({"text": "<solution>The total is @total[4].</solution>"})
    ep = Episode(task="What is 2 + 2?")
    await drive(ep, make_llm(), executor)
    assert ep.solution == "The total is @total[4]."  # prose around it: left as written


# ---- a host's "go on" continues the request (the eval harness after a reply in prose) ----
GO_ON = "Your reply had neither an action nor an answer. Go on."


async def test_the_same_failing_action_around_a_hosts_go_on_is_still_in_a_row(
    scripted, make_llm, executor
):
    """Seen on the embedded model: a made-up file read, prose, "go on", the same read, ten
    turns long. The prose and the host's "go on" do not start a new row."""
    read = {"text": "<execute>\nopen('made-up.csv').read()\n</execute>"}
    prose = {"text": "The file does not exist."}
    scripted.script(read, prose, read, prose, read)
    ep = Episode(task="t")
    llm = make_llm()
    await drive(ep, llm, executor, NO_FRESH_START)
    assert ep.state is FinalState.REPLIED
    await drive(ep, llm, executor, NO_FRESH_START, message=GO_ON, continues=True)
    assert ep.state is FinalState.REPLIED
    assert "failed the same way both times" in observations(ep)[-1]
    await drive(ep, llm, executor, NO_FRESH_START, message=GO_ON, continues=True)
    assert ep.state is FinalState.STUCK and statuses(ep) == ["error", "error", "skipped"]
    assert all(u.data["continues_request"] for u in ep.steps_of(StepKind.USER)[1:])


async def test_a_new_request_starts_a_new_row(scripted, make_llm, executor):
    read = {"text": "<execute>\nopen('made-up.csv').read()\n</execute>"}
    prose = {"text": "The file does not exist."}
    scripted.script(read, prose, read, prose, read)
    ep = Episode(task="t")
    llm = make_llm()
    await drive(ep, llm, executor)
    await drive(ep, llm, executor, message="I put the file there now, try again")
    assert "failed the same way" not in observations(ep)[-1]
    assert "continues_request" not in ep.steps_of(StepKind.USER)[1].data


async def test_the_stated_answer_form_is_the_tasks_after_a_hosts_go_on(
    scripted, make_llm, executor
):
    scripted.script(
        {"text": "<execute>\nprint(3)\n</execute>"},
        {"text": "It printed it."},
        {"text": "Still thinking."},
        {"text": "<solution>3</solution>"},
        {"text": "<solution>@n[3]</solution>"},
    )
    ep = Episode(task="How many? Answer as @n[value].")
    llm = make_llm()
    await drive(ep, llm, executor)
    await drive(ep, llm, executor, message=GO_ON, continues=True)
    assert ep.state is FinalState.SOLVED and ep.solution == "@n[3]"
    assert ANSWER_FORM_REMINDER.format(form="@n[...]") in observations(ep)[-1]


async def test_a_repeated_final_answer_action_is_quoted_with_the_answer_it_gave(
    scripted, make_llm, executor
):
    # Rejected by the user, the model runs the same final_answer() again: the note says
    # which answer that code gave, not that it printed nothing.
    answer = {"text": "<execute>final_answer(6 * 8)</execute>"}
    scripted.script(answer, answer, {"text": "<execute>final_answer(6 * 7)</execute>"})
    ep = Episode(task="6 * 7?")
    llm = make_llm()
    await drive(ep, llm, executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "48"
    await drive(
        ep, llm, executor, NO_FRESH_START, message="Your answer is incorrect.", rejects_answer=True
    )
    assert ep.state is FinalState.SOLVED and ep.solution == "42"
    repeat = observations(ep)[1]
    assert 'twice in a row now (turn 1 too); last time it returned: "final_answer(48)"' in repeat
    assert 'returned: "[Code executed' not in repeat


async def test_the_same_code_that_now_returns_something_else_is_not_called_a_repeat(
    scripted, make_llm, executor
):
    # view() after a click shows another page: telling the model that it "gives nothing
    # new", quoting the old page, would be false.
    await executor.execute("page = ['/']\ndef view():\n    return page[0]", 10)
    scripted.script(
        {"text": "<execute>view()</execute>"},
        {"text": "<execute>page[0] = '/staff'</execute>"},
        {"text": "<execute>view()</execute>"},
        {"text": "<execute>view()</execute>"},
        {"text": "<solution>/staff</solution>"},
    )
    ep = Episode(task="which page?")
    await drive(ep, make_llm(), executor, NO_FRESH_START)
    assert ep.state is FinalState.SOLVED
    third, fourth = observations(ep)[2:4]
    assert third == "'/staff'"
    assert "twice in a row now (turn 3 too); last time it returned: \"'/staff'\"" in fourth


async def test_a_refused_solution_tag_is_not_quoted_as_the_actions_final_answer(
    scripted, make_llm, executor
):
    # The answer came from <solution>, not from the action's code: repeating that action
    # is quoted with what it printed, and only a final_answer() call is quoted as one.
    action = "<execute>print(6 * 7)</execute>"
    scripted.script(
        {"text": f"{action}\n<solution>42</solution>"},  # refused: not in the stated form
        {"text": action},
        {"text": "<solution>@product[42]</solution>"},
    )
    ep = Episode(task="6 * 7? Answer as @product[value].")
    await drive(ep, make_llm(use_stop_sequence=False), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "@product[42]"
    first, second = ep.steps_of(StepKind.OBSERVATION)[:2]
    assert first.data["refused_answer"] == {"text": "42", "why": "format"}
    assert 'last time it returned: "42"' in second.data["text"]
    assert "final_answer(" not in second.data["text"]


# ---- starting over when the model repeats itself ----
READ_MADE_UP = {"text": "<execute>\nopen('made-up.csv').read()\n</execute>"}


async def test_a_repeated_action_starts_the_request_over_without_the_turns_before(
    scripted, make_llm, executor
):
    """Seen on the embedded model: told it had run the same code twice in a row, it wrote
    it a third time (15 of 23 times on the 32 tool tasks). It copies what its prompt holds:
    after a fresh start the prompt no longer holds it."""
    scripted.script(
        READ_MADE_UP,
        READ_MADE_UP,
        {"text": "Another way.\n<execute>\nprint(6 * 7)\n</execute>"},
        {"text": "<solution>42</solution>"},
    )
    ep = Episode(task="what is six times seven?")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "42" and ep.turns == 4
    assert statuses(ep) == ["error", "skipped", "ok"]  # the repeat was not run
    note = FRESH_START.format(attempt="second", how=FRESH_START_STEP_BY_STEP)
    repeat = ep.steps_of(StepKind.OBSERVATION)[1]
    assert repeat.data["text"] == f"{NOT_RUN_REPEATED}\n\n{STARTING_OVER.format(note=note)}"
    assert repeat.data["fresh_start"] == note
    # what the model read next: the task, then the note, nothing of the turns between
    after = scripted.requests[2]["messages"]
    assert [m["role"] for m in after] == ["system", "user", "user"]
    assert after[1]["content"] == "what is six times seven?" and after[2]["content"] == note
    assert "made-up.csv" not in json.dumps(after)
    # then the turns after it, as they came
    last = scripted.requests[3]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "user", "assistant", "user"]
    assert last[4]["content"] == "Observation:\n42"
    assert len(ep.steps_of(StepKind.ASSISTANT)) == 4  # the record keeps every turn
    # every reply greedy: only a second fresh start's first reply is sampled
    assert {(body["temperature"], body.get("seed")) for body in scripted.requests} == {(0.0, None)}


async def test_after_its_fresh_starts_a_request_ends_stuck_as_before(scripted, make_llm, executor):
    scripted.default = READ_MADE_UP
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.STUCK and ep.turns == 7
    assert statuses(ep) == ["error", "skipped", "error", "skipped", "error", "error", "skipped"]
    notes = [s.data.get("fresh_start", "") for s in ep.steps_of(StepKind.OBSERVATION)]
    assert [bool(n) for n in notes] == [False, True, False, True, False, False, False]
    # each fresh start reads differently: the same prompt would get the same reply
    assert "your second attempt" in notes[1] and "your third attempt" in notes[3]
    assert "failed the same way both times" in observations(ep)[5]  # then the notes of old
    assert scripted.requests[4]["messages"][2]["content"] == notes[3]
    # the first reply after the second fresh start is sampled, seeded by its turn: at
    # temperature 0 it got the first fresh start's reply again; the rest are greedy
    sent = [(body["temperature"], body.get("seed")) for body in scripted.requests]
    assert sent == [(0.0, None)] * 4 + [(0.7, 5)] + [(0.0, None)] * 2
    replies = ep.steps_of(StepKind.ASSISTANT)
    assert replies[4].data["sampling"] == {"temperature": 0.7, "seed": 5}
    assert "sampling" not in replies[2].data and "sampling" not in replies[5].data


async def test_no_fresh_start_on_the_last_turn(scripted, make_llm, executor):
    scripted.default = READ_MADE_UP
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor, Policy(max_turns=2))
    assert ep.state is FinalState.MAX_TURNS and statuses(ep) == ["error", "error"]
    assert not any(s.data.get("fresh_start") for s in ep.steps_of(StepKind.OBSERVATION))


async def test_a_rejected_answer_given_again_starts_over_naming_the_functions(
    scripted, make_llm, executor
):
    await executor.execute("def double(x):\n    return 2 * x", 10)
    answer = {"text": "<solution>7</solution>"}
    scripted.script(
        answer,
        answer,
        {"text": "<execute>\nprint(double(21))\n</execute>"},
        {"text": "<solution>42</solution>"},
    )
    ep = Episode(task="double 21")
    llm = make_llm()
    tools = "- double(x): twice x"
    await drive(ep, llm, executor, tools=tools)
    await drive(ep, llm, executor, message="Incorrect.", rejects_answer=True, tools=tools)
    assert ep.state is FinalState.SOLVED and ep.solution == "42"
    repeat = ep.steps_of(StepKind.OBSERVATION)[0]
    assert repeat.data["refused_answer"] == {"text": "7", "why": "repeated"}
    how = FRESH_START_WITH_FUNCTIONS.format(names="double(x)")
    note = FRESH_START.format(attempt="second", how=how)
    assert repeat.data["fresh_start"] == note
    # the answer the model was told is wrong, and the "no", are out of its view
    after = scripted.requests[2]["messages"]
    assert [m["content"] for m in after[1:]] == ["double 21", note]


async def test_a_follow_up_sees_the_request_as_the_model_last_saw_it(scripted, make_llm, executor):
    scripted.script(
        READ_MADE_UP,
        READ_MADE_UP,
        {"text": "<execute>\nprint(6 * 7)\n</execute>"},
        {"text": "<solution>42</solution>"},
        {"text": "<solution>43</solution>"},
    )
    ep = Episode(task="t")
    llm = make_llm()
    await drive(ep, llm, executor)
    await drive(ep, llm, executor, message="and plus one?")
    sent = scripted.requests[4]["messages"]
    assert [m["role"] for m in sent] == [
        "system", "user", "user", "assistant", "user", "assistant", "user"
    ]  # fmt: skip
    assert sent[-1]["content"] == "and plus one?" and "made-up.csv" not in json.dumps(sent)
    assert ep.state is FinalState.SOLVED and ep.solution == "43"


async def test_the_same_reply_word_for_word_starts_over_with_nothing_of_it_run(
    scripted, make_llm, executor
):
    """Seen on the embedded model: an action longer than a reply's tokens, cut off, then
    written again whole, ten times (50 s each): no action ran, so no action repeated."""
    cut = {"text": "Plan.\n<execute>\nx = 1\nprint('a very long", "finish_reason": "length"}
    scripted.script(
        cut,
        cut,
        {"text": "<execute>\nprint(6 * 7)\n</execute>"},
        {"text": "<solution>42</solution>"},
    )
    ep = Episode(task="t")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "42" and ep.turns == 4
    assert statuses(ep) == ["ok"]  # neither cut action ran
    first, second = observations(ep)[:2]
    assert first.startswith("Your reply was cut off")
    assert second.startswith(NOT_RUN_SAME_REPLY) and "starting the task over" in second
    after = scripted.requests[2]["messages"]
    assert [m["role"] for m in after] == ["system", "user", "user"]


async def test_the_same_reply_after_a_one_time_note_is_no_repeat(scripted, make_llm, executor):
    """A reply sent back once (its answer's form) and given again, word for word, is taken:
    the note asked for it again."""
    reply = {"text": "<execute>\nprint(6 * 7)\n</execute>\n<solution>42</solution>"}
    scripted.script(reply, reply)
    ep = Episode(task="6 * 7? Answer as @product[value].")
    await drive(ep, make_llm(use_stop_sequence=False), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "42" and ep.turns == 2
    assert not any(s.data.get("fresh_start") for s in ep.steps_of(StepKind.OBSERVATION))


# ---- a <solution> written before the reply's code ----
async def test_a_solution_before_the_code_is_not_taken_the_output_is(scripted, make_llm, executor):
    """Seen on the embedded model: "<solution>Timedelta is a class ... import it</solution>"
    then the fixed code, which printed the right count: the loop took the prose as the
    answer, and the count came too late. Written before the code ran, it is no answer."""
    scripted.script(
        {
            "text": "<solution>You need to import it first.</solution>\n<execute>\nprint(4 * 5)\n</execute>"
        },
        {"text": "<solution>20</solution>"},
    )
    ep = Episode(task="how many?")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "20" and ep.turns == 2
    assert statuses(ep) == ["ok"]  # the code ran
    first = ep.steps_of(StepKind.OBSERVATION)[0].data
    assert first["text"] == f"20\n\n{ANSWER_BEFORE_ACTION}"
    assert first["refused_answer"] == {
        "text": "You need to import it first.",
        "why": "before_action",
    }


async def test_final_answer_in_the_code_after_a_solution_is_taken(scripted, make_llm, executor):
    """The code's final_answer() is computed: it is the answer, the <solution> before it
    only says the same."""
    scripted.script(
        {"text": "<solution>3</solution>\nAs computed.\n<execute>\nfinal_answer(1 + 2)\n</execute>"}
    )
    ep = Episode(task="one plus two")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "3" and ep.turns == 1
    assert ep.steps_of(StepKind.SOLUTION)[0].data["source"] == "code"


async def test_a_solution_before_code_that_fails_is_not_taken(scripted, make_llm, executor):
    scripted.script(
        {"text": "<solution>7</solution>\n<execute>\nundefined_thing\n</execute>"},
        {"text": "<execute>\nprint(7)\n</execute>"},
        {"text": "<solution>7</solution>"},
    )
    ep = Episode(task="seven")
    await drive(ep, make_llm(), executor)
    assert ep.state is FinalState.SOLVED and ep.solution == "7" and ep.turns == 3
    first = ep.steps_of(StepKind.OBSERVATION)[0].data
    assert "NameError" in first["text"] and first["text"].endswith(ANSWER_BEFORE_ACTION)
    assert first["refused_answer"]["why"] == "before_action"
