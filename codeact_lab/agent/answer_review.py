"""Whether the loop takes the model's answer now, asks once more, or ends the turn as stuck.

Small models answer without running anything, drop the format the task asked for, and
send the same wrong answer again and again. Each of these gets one note, in this order:

1. the same answer again after it was rejected ("incorrect"): the first repeat is
   pointed out (run code to check it); the next one ends the turn as stuck;
2. an answer with no successful action anywhere in the episode, when the host says the
   task needs the kernel (``verify_note``): one nudge to check it with code first;
3. an answer that does not follow the form the request states (``@name[value]``): one
   reminder of that form.

Notes 2 and 3 come once per episode: after them the answer is taken as it is. An answer
that follows a successful action in the same reply is verified, so note 2 never applies;
an action that only hands a typed-in value to ``final_answer`` (or prints it) checks
nothing, so it does not count (seen: ``final_answer("No such file")`` after a made-up
file name raised).

An answer that is one ``@name[value]`` and nothing else, when the request states no such
form, is taken as its value (``as_asked``): that form is the worked example's, not the
user's.

A reply with neither code nor an answer, after code of the same request ran, is most
often the answer in prose: it gets one reminder to give it in a form the loop takes
(``prose_reply_note``); a second such reply right after it is taken as the answer
(``answers_in_prose``), or the one printed value it names (``prose_answer``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from .episode import ActionStatus, Episode, StepKind
from .prompts import ANSWER_FORM_REMINDER, ANSWER_IN_PROSE, REPEATED_ANSWER
from .repetition import new_request, rejected_repeats

# "@mean_age[mean]": the named-answer form of data-analysis benchmarks.
_FORM_NAME = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)\[")

REPEATED = "repeated"
VERIFY = "verify"
FORM = "format"
PROSE = "prose"
BEFORE_ACTION = "before_action"  # a <solution> written before the reply's code ran


@dataclass(frozen=True)
class Review:
    accept: bool
    stuck: bool = False
    why: str = ""  # REPEATED, VERIFY or FORM when not accepted
    note: str = ""  # what the model is told


ACCEPT = Review(True)


def request_text(episode: Episode) -> str:
    """What the user asked for now: the last user message that asks something new."""
    for step in reversed(episode.steps):
        if new_request(step):
            return str(step.data.get("text", ""))
    return episode.task


def answer_form(request: str) -> list[str]:
    """The names of the ``@name[...]`` answers the request asks for, in order."""
    return list(dict.fromkeys(_FORM_NAME.findall(request)))


def follows_form(answer: str, names: list[str]) -> bool:
    return all(re.search(rf"@{re.escape(name)}\[[^\]]*\]", answer) for name in names)


_ONE_NAMED_VALUE = re.compile(r"@[A-Za-z_][A-Za-z0-9_]*\[([^\]]*)\]")


def as_asked(episode: Episode, answer: str) -> str:
    """The answer in the form the user asked for: one ``@name[value]`` and nothing else,
    when the request states no such form, is its value. The worked example of the system
    prompt answers in that form, and a small model copies it into every task."""
    found = _ONE_NAMED_VALUE.fullmatch(answer.strip())
    if found is None or answer_form(request_text(episode)):
        return answer
    return found.group(1).strip()


def _noted(episode: Episode, why: str) -> bool:
    return any(
        (step.data.get("refused_answer") or {}).get("why") == why
        for step in episode.steps_of(StepKind.OBSERVATION)
    )


def checks_nothing(code: str) -> bool:
    """Code that computes nothing: each statement gives literals to final_answer or print."""
    try:
        body = ast.parse(code).body
    except SyntaxError:
        return False
    return bool(body) and all(
        isinstance(statement, ast.Expr)
        and isinstance(call := statement.value, ast.Call)
        and isinstance(call.func, ast.Name)
        and call.func.id in ("final_answer", "print")
        and not call.keywords
        and all(isinstance(arg, ast.Constant) for arg in call.args)
        for statement in body
    )


def _verified(episode: Episode) -> bool:
    return any(
        step.data.get("status") == ActionStatus.OK.value
        and step.data.get("format") != "restore"
        and not checks_nothing(str(step.data.get("code", "")))
        for step in episode.steps_of(StepKind.ACTION)
    )


def review_answer(episode: Episode, answer: str, verify_note: str | None = None) -> Review:
    repeats = rejected_repeats(episode, answer)
    if len(repeats) >= 2:
        return Review(False, stuck=True, why=REPEATED)
    if repeats:
        return Review(False, why=REPEATED, note=REPEATED_ANSWER.format(turn=repeats[0].turn))
    if verify_note and not _verified(episode) and not _noted(episode, VERIFY):
        return Review(False, why=VERIFY, note=verify_note)
    names = answer_form(request_text(episode))
    if names and not follows_form(answer, names) and not _noted(episode, FORM):
        form = " ".join(f"@{name}[...]" for name in names)
        return Review(False, why=FORM, note=ANSWER_FORM_REMINDER.format(form=form))
    return ACCEPT


def prose_reply_note(episode: Episode) -> str | None:
    """The reminder for a reply with neither code nor an answer, when code of the current
    request ran and the request has not had it yet; None: the reply ends the turn."""
    ran = False
    for step in reversed(episode.steps):
        if step.kind is StepKind.USER:
            break
        if step.kind is StepKind.OBSERVATION and step.data.get("note") == PROSE:
            return None
        if step.kind is StepKind.ACTION and step.data.get("status") == ActionStatus.OK.value:
            ran = True
    return ANSWER_IN_PROSE if ran else None


def answers_in_prose(episode: Episode) -> bool:
    """Whether the model was just asked to restate its prose answer (the last step is that
    reminder): its reply, again in prose, is then the answer."""
    last = episode.steps[-2] if len(episode.steps) >= 2 else None  # before the new reply
    return bool(last and last.kind is StepKind.OBSERVATION and last.data.get("note") == PROSE)
