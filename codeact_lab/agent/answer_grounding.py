"""Whether an answer is one the model's code showed: printed, returned or shown by an
action that ran, rather than made up after it.

Seen on the embedded model: it decodes the first step of a message, then answers "Hello
world", a value no action printed; the loop took it because some action had run. A
value the code showed is found in the outputs as text (case and spacing aside), or, for
a number, as a number that rounds to it (the task asked for two decimals, the code
printed twelve). An answer of several values (``a, b``, ``@x[1] @y[2]``) is shown when
each value is.
"""

from __future__ import annotations

import re

from .episode import ActionStatus, Episode, StepKind
from .observation import render_outputs

_NUMBER = re.compile(r"[-+]?\d[\d_]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
_NAMED_VALUE = re.compile(r"@[A-Za-z_][A-Za-z0-9_]*\[([^\]]*)\]")
_QUOTES = "'\"`"


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def _shown_texts(episode: Episode) -> list[str]:
    """What every action that ran without an error showed, as the model read it."""
    return [
        _normal(render_outputs(step.data.get("outputs") or []).text)
        for step in episode.steps_of(StepKind.ACTION)
        if step.data.get("status") == ActionStatus.OK.value
    ]


def _numbers(text: str) -> list[float]:
    found = []
    for match in _NUMBER.findall(text):
        try:
            found.append(float(match.replace("_", "")))
        except ValueError:
            continue
    return found


def _value_shown(value: str, shown: list[str], numbers: list[float]) -> bool:
    value = _normal(value).strip(_QUOTES + " ")
    if not value:
        return True
    if any(value in text for text in shown):
        return True
    try:
        number = float(value.replace(",", "").replace("_", ""))
    except ValueError:
        return False
    decimals = len(value.split(".")[1]) if "." in value else 0
    return any(abs(number - seen) <= 0.5 * 10**-decimals + 1e-9 for seen in numbers)


def shown_by_code(episode: Episode, answer: str) -> bool:
    """Whether the actions of the episode showed ``answer``: whole, or every value of it
    (each ``@name[value]``, else each comma-separated part)."""
    shown = _shown_texts(episode)
    numbers = [n for text in shown for n in _numbers(text)]
    if _value_shown(answer, shown, numbers):
        return True
    parts = _NAMED_VALUE.findall(answer) or [p for p in re.split(r"[,;\n]", answer) if p.strip()]
    return len(parts) > 0 and all(_value_shown(part, shown, numbers) for part in parts)
