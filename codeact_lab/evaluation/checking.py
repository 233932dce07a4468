"""The built-in suite's answer checker: exact answers, read the way a person would.

An answer is the text of the model's ``<solution>``. Before comparing, surrounding
whitespace, quotes, backticks and a final full stop are dropped, and runs of
whitespace become one space. Then, by the type of the expected answer:

* ``int``: the number, with ``1,234``-style separators and a leading currency sign allowed;
* ``float``: the same, equal to two decimals (money, percentages: the suite rounds to 2);
* ``str``: exactly equal (case matters: names and sequences are case-sensitive);
* ``list``: a Python/JSON list literal, or comma-separated items, each checked as above;
* ``dict``: named answers, ``@name[value]`` for each name, in any order, separated by
  spaces, commas or semicolons and nothing else; each value exactly (see ``check_named``).
"""

from __future__ import annotations

import ast
import re
from typing import Any

_CURRENCY = "$€£¥"
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")


def normalize(answer: str) -> str:
    text = " ".join(str(answer).split())
    for _ in range(2):  # "'x'." and "`x`"
        if text.endswith(".") and not text.endswith(".."):
            text = text[:-1].rstrip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"`":
            text = text[1:-1].strip()
    return text


def parse_number(text: str) -> float | None:
    text = normalize(text).lstrip(_CURRENCY).strip()
    if not text or not _NUMBER.match(text):
        return None
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


_NAMED = re.compile(r"@([A-Za-z_][A-Za-z0-9_]*)\[([^\[\]]*)\]")
_BETWEEN_NAMED = re.compile(r"[\s,;]*")


def named_values(answer: str) -> dict[str, str] | None:
    """``"@a[1], @b[x]"`` as ``{"a": "1", "b": "x"}``; None when anything else is there or
    a name comes twice."""
    text = normalize(answer)
    values: dict[str, str] = {}
    end = 0
    for match in _NAMED.finditer(text):
        if not _BETWEEN_NAMED.fullmatch(text, end, match.start()) or match[1] in values:
            return None
        values[match[1]] = match[2].strip()
        end = match.end()
    return values if _BETWEEN_NAMED.fullmatch(text, end) else None


def _exact_value(expected: Any, text: str) -> bool:
    """One named value: a number equal to the expected one, already rounded as the task
    says (so a value with more or fewer decimals is wrong); text as it is; a list item
    by item, in order."""
    if isinstance(expected, (list, tuple)):
        items = [item.strip().strip("'\"") for item in text.split(",")]
        return len(items) == len(expected) and all(
            _exact_value(e, item) for e, item in zip(expected, items, strict=True)
        )
    if isinstance(expected, (int, float)) and not isinstance(expected, bool):
        value = parse_number(text)
        return value is not None and abs(value - expected) < 1e-9
    return text.strip("'\"`") == str(expected)


def check_named(expected: dict[str, Any], answer: str) -> bool:
    values = named_values(answer)
    return (
        values is not None
        and set(values) == set(expected)
        and all(_exact_value(expected[name], values[name]) for name in expected)
    )


def check_answer(expected: Any, answer: str) -> bool:
    if isinstance(expected, dict):
        return check_named(expected, answer)
    if isinstance(expected, bool):  # before int: bool is an int
        return normalize(answer).lower() == str(expected).lower()
    if isinstance(expected, int):
        value = parse_number(answer)
        return value is not None and value == expected
    if isinstance(expected, float):
        value = parse_number(answer)
        return value is not None and round(value, 2) == round(expected, 2)
    if isinstance(expected, (list, tuple)):
        items = _as_list(answer)
        return (
            items is not None
            and len(items) == len(expected)
            and all(check_answer(e, str(a)) for e, a in zip(expected, items, strict=True))
        )
    expected_text = str(expected)
    text = " ".join(str(answer).split())
    # An expected answer that ends with a full stop keeps it; any other loses it.
    return normalize(answer) == expected_text or text.strip("'\"`") == expected_text


def _as_list(answer: str) -> list[Any] | None:
    text = normalize(answer)
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    if isinstance(value, (list, tuple)):
        return list(value)
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip() for part in text.split(",")] if text else []
