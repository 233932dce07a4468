"""The value a sentence answer names, read from the output the model answered from.

Asked for a bare answer, a small model often gives a sentence ("The word with the most
vowels is banana.") and, reminded to put it between ``<solution>`` tags, the same
sentence again, which the loop then takes as its answer. The value is in the sentence
and in the output of the code that computed it; a person reading both sees it at once.
This finds it the same way, and only when there is no doubt: the sentence's words that
the output printed and the request did not say (those are the question, not the answer)
must form one run of adjacent words, found as a whole in the output, where the output
shows it as a value. Anything else (two such runs, none, a value the output never showed,
a word of the output's own sentences) keeps the sentence.
"""

from __future__ import annotations

import re

from .answer_review import answer_form, request_text
from .episode import ActionStatus, Episode, StepKind
from .observation import render_outputs
from .repetition import since_request

# A value as it is written: a number, a word, a date, an identifier, a protein "MANG*", a
# share "50%"; not the sentence's punctuation or a currency sign before a number. A word
# that holds two ("1,042.0" is 1 and 042.0) names none.
_VALUE = re.compile(r"[\w*%+\-/:.]*[\w*%]")
_WORD = re.compile(r"\S+")


def _values(text: str) -> set[str]:
    return set(_VALUE.findall(text))


def value_in_prose(sentence: str, output: str, request: str) -> str | None:
    """The one value of ``output`` that ``sentence`` names and ``request`` does not; None
    when there is not exactly one."""
    printed, asked = _values(output), _values(request)
    runs: list[list[str]] = []
    run: list[str] = []
    for word in _WORD.findall(sentence):
        values = _VALUE.findall(word)
        named = len(values) == 1 and values[0] in printed and values[0] not in asked
        if named:
            run.append(values[0])
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    if len(runs) != 1:
        return None
    value = " ".join(runs[0])
    return value if value in output and _printed_as_a_value(value, output) else None


def _printed_as_a_value(value: str, output: str) -> bool:
    """Whether the output shows ``value`` as a value, not as a word of its own prose: a
    number, a code or a date is; a plain word only on a line of its own or in quotes (a
    str in a list or dict). Seen: "... does not have an office listed on ..." after a page
    whose text had "on" in it."""
    if not value.replace(" ", "").isalpha():
        return True
    lines = {line.strip() for line in output.splitlines()}
    return value in lines or f"'{value}'" in output or f'"{value}"' in output


def answer_from_prose(episode: Episode, sentence: str) -> str | None:
    """The value ``sentence`` names in the output of the request's last action that ran,
    when the request states no answer form (``@name[value]``: that form decides)."""
    request = request_text(episode)
    if answer_form(request):
        return None
    for step in reversed(since_request(episode)):
        if step.kind is StepKind.ACTION and step.data.get("status") == ActionStatus.OK.value:
            output = render_outputs(step.data.get("outputs") or []).text
            return value_in_prose(sentence, output, request)
    return None
