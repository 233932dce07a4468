"""The built-in suite's answer checker: exact answers, read the way a person would.

An answer is the text of the model's ``<solution>``. Before comparing, surrounding
whitespace, quotes, backticks and a final full stop are dropped, and runs of
whitespace become one space. Then, by the type of the expected answer:

* ``int``: the number, with ``1,234``-style separators and a leading currency sign allowed;
* ``float``: the same, equal to two decimals (money, percentages: the suite rounds to 2);
* ``str``: exactly equal (case matters: names and sequences are case-sensitive);
* ``list``: a Python/JSON list literal, or comma-separated items, each checked as above.
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


def check_answer(expected: Any, answer: str) -> bool:
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
