"""When the model repeats itself: the same action again, or an answer it was told is wrong.

Both are read from the record, so a follow-up, a resumed episode and a new turn see the
same history. An action repeats when its code (stripped) is the same; an answer, when
its text is the same but for whitespace.

* Actions *in a row*: the actions just before this one, in this request (back to the
  last user message that asks something new: a rejection or a host's "go on" does not),
  with the same code, that ran (ok, error or timeout). The second in
  a row gets a stronger note; the third is not run and the turn ends as stuck.
* Answers *after "incorrect"*: the earlier attempts at the same answer, counted from the
  first that a user message rejected (``rejects_answer``); answers the loop refused
  (an observation's ``refused_answer``) count too, because the model gave them.
* Replies *word for word*: a reply with nothing to run or take, the same as the one before.
* *Fresh starts*: the observations of this request where it started over because the
  model repeated itself (``fresh_start``); the loop allows a few.
"""

from __future__ import annotations

from dataclasses import dataclass

from .episode import ActionStatus, Episode, Step, StepKind, status_of
from .observation import NO_OUTPUT, render_outputs, truncate_middle


def _repeats(step: Step) -> bool:
    """Whether it ran (ok, error or timeout): the same code would end the same way again,
    unlike a stop, a restart or a dead kernel, which came from outside."""
    status = status_of(step)
    return status is not None and (status.completed or status is ActionStatus.TIMEOUT)


def same_answer(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def _before(episode: Episode, step: Step) -> list[Step]:
    """The steps before ``step`` (all of them when it is not in the record yet)."""
    for index, other in enumerate(episode.steps):
        if other.id == step.id:
            return episode.steps[:index]
    return list(episode.steps)


def new_request(step: Step) -> bool:
    """A user message that asks something new: not a rejection, nor a host's "go on"."""
    data = step.data
    return step.kind is StepKind.USER and not (
        data.get("continues_request") or data.get("rejects_answer")
    )


def identical_in_a_row(episode: Episode, step: Step) -> list[Step]:
    """The actions just before ``step`` with the same code, most recent first."""
    code = step.data["code"].strip()
    row: list[Step] = []
    for other in reversed(_before(episode, step)):
        if new_request(other):
            break
        if other.kind is not StepKind.ACTION:
            continue
        if other.data["code"].strip() != code or not _repeats(other):
            break
        row.append(other)
    return row


def since_request(episode: Episode) -> list[Step]:
    """The steps after the current request's message (all of them if there is none)."""
    for index in range(len(episode.steps) - 1, -1, -1):
        if new_request(episode.steps[index]):
            return episode.steps[index + 1 :]
    return list(episode.steps)


def fresh_starts_used(episode: Episode) -> int:
    """How many times the current request has started over."""
    return sum(
        1
        for step in since_request(episode)
        if step.kind is StepKind.OBSERVATION and step.data.get("fresh_start")
    )


def repeated_reply(episode: Episode) -> bool:
    """Whether the model's last reply is, word for word, its reply before it in this request
    (the loop asks this of replies with nothing to run or take: prose, an action cut off),
    and that one was not sent back by a one-time note (a refused form or check, a prose
    answer asked again), which the same reply answers. Seen: an action too long for the
    reply's tokens, cut off and written again whole, ten times; a prose reply, again after
    "go on"."""
    replies: list[tuple[Step, Step | None]] = []  # each reply and the observation after it
    for step in since_request(episode):
        if step.kind is StepKind.ASSISTANT:
            replies.append((step, None))
        elif step.kind is StepKind.OBSERVATION and replies and replies[-1][1] is None:
            replies[-1] = (replies[-1][0], step)
    if len(replies) < 2:
        return False
    (before, told), (last, _) = replies[-2], replies[-1]
    # A one-time note asked for it again, or a fresh start came between: no repeat.
    asked_again = told is not None and bool(
        told.data.get("note")
        or told.data.get("fresh_start")
        or (told.data.get("refused_answer") or {}).get("why") not in (None, "repeated")
    )
    same = str(last.data.get("text", "")).strip() == str(before.data.get("text", "")).strip()
    return same and not asked_again


def gave_refused_answer(episode: Episode, action: Step) -> bool:
    """Whether the loop refused an answer of ``action``'s reply (its final_answer() or its
    <solution>, for its form or to be checked first): the same code again gives it again."""
    return any(
        step.kind is StepKind.OBSERVATION
        and action.id in (step.data.get("action_ids") or ())
        and bool(step.data.get("refused_answer"))
        for step in episode.steps
    )


def earlier_identical(episode: Episode, step: Step) -> Step | None:
    """The first earlier action anywhere in the episode with the same code that succeeded
    and returned what ``step`` did: the same code showing something new (``view()``
    after a click) is no repeat."""
    code, said = step.data["code"].strip(), None
    for other in _before(episode, step):
        if (
            other.kind is StepKind.ACTION
            and other.data["code"].strip() == code
            and other.data.get("status") == ActionStatus.OK.value
        ):
            said = _output_text(step) if said is None else said
            if _output_text(other) == said:
                return other
    return None


@dataclass
class Attempt:
    text: str
    turn: int
    rejected: bool  # accepted, then a user message said it was wrong


def answer_attempts(episode: Episode) -> list[Attempt]:
    """Every answer the model gave, in order: accepted ones and those the loop refused."""
    attempts: list[Attempt] = []
    waiting: Attempt | None = None  # the last accepted answer, until the next user message
    for step in episode.steps:
        if step.kind is StepKind.SOLUTION:
            waiting = Attempt(str(step.data.get("text", "")), int(step.data.get("turn", 0)), False)
            attempts.append(waiting)
        elif step.kind is StepKind.OBSERVATION and step.data.get("refused_answer"):
            refused = step.data["refused_answer"]
            attempts.append(Attempt(str(refused.get("text", "")), int(step.data["turn"]), False))
        elif step.kind is StepKind.USER and waiting is not None:
            waiting.rejected = bool(step.data.get("rejects_answer"))
            waiting = None
    return attempts


def rejected_repeats(episode: Episode, answer: str) -> list[Attempt]:
    """The earlier attempts at ``answer`` from the first one that was rejected: empty when
    it was never rejected. One: the model gives it a second time after "incorrect"."""
    same = [a for a in answer_attempts(episode) if same_answer(a.text, answer)]
    for index, attempt in enumerate(same):
        if attempt.rejected:
            return same[index:]
    return []


QUOTE_CHARS = 200


def _output_text(action: Step) -> str:
    """What an action showed: its last error, or its outputs as the model read them."""
    outputs = action.data.get("outputs") or []
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        text = f"{errors[-1].get('ename', 'Error')}: {errors[-1].get('evalue', '')}"
    else:
        text = render_outputs(outputs).text
    if action.data.get("status") == ActionStatus.TIMEOUT.value:
        text = f"{text} (timed out)".strip()
    return text


def code_answer_of(episode: Episode, action: Step) -> str | None:
    """What ``action`` gave ``final_answer()``, when the episode took it or the loop
    refused it: its output alone would say nothing, the answer left with the call."""
    for step in episode.steps:
        if step.kind is StepKind.SOLUTION and step.data.get("action_id") == action.id:
            return str(step.data.get("text", ""))
        refused = step.data.get("refused_answer") if step.kind is StepKind.OBSERVATION else None
        if refused and refused.get("action_id") == action.id:
            return str(refused.get("text", ""))
    return None


def returned(episode: Episode, action: Step) -> str:
    """What an action returned, briefly and on one line, to quote back to the model."""
    text = _output_text(action)
    answer = code_answer_of(episode, action)
    if answer is not None:
        text = f"{text} final_answer({answer})"
    text = " ".join(text.split()) or NO_OUTPUT
    return f'"{truncate_middle(text, QUOTE_CHARS)}"'.replace("\n", " ")
