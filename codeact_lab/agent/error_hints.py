"""One line of help after the errors a small model makes by guessing what exists.

Seen on the embedded model: given functions that hold a task's data, it reads a file it
made up (``pd.read_csv('flights.csv')``), a URL it made up, or a function it made up, and
then answers "the file does not exist"; or it indexes a record by a key it made up
(``flight["origin"]``), or a string as if it were a dict. The traceback says what is
missing, not what is there; the hint says where to look instead. It only names what the
model was already told (the functions of its instructions, with their arguments) or code
it can run itself (``os.listdir()``, a print): nothing runs unseen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .prompts import (
    GUESSED_FILE,
    GUESSED_FILE_WITH_FUNCTIONS,
    GUESSED_NAME,
    GUESSED_URL,
    MISSING_KEY,
    NOT_A_MAPPING,
)

# "- name(args): what it does", one a line, as the tools are listed in the system prompt.
_LISTED = re.compile(r"^\s*[-*]?\s*([A-Za-z_][A-Za-z0-9_]*\s*\([^)]*\))", re.MULTILINE)
# What requests, urllib and sockets raise for a host that does not exist or does not answer.
_UNREACHABLE = {
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectTimeout",
    "gaierror",
    "MaxRetryError",
    "NameResolutionError",
    "URLError",
}
_UNDEFINED = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


def listed_functions(tools: str) -> list[str]:
    """The signatures (``name(args)``) of the functions a tools description lists, in
    order: a small model calls a function it is shown with its arguments."""
    return list(dict.fromkeys(_LISTED.findall(tools)))


def name_of(signature: str) -> str:
    return signature.split("(")[0].strip()


def error_hint(outputs: Iterable[Mapping[str, Any]], functions: list[str]) -> str:
    """The hint for an action's error, or "" when its traceback says enough."""
    error = next((o for o in outputs if o.get("output_type") == "error"), None)
    if error is None:
        return ""
    ename, evalue = str(error.get("ename", "")), str(error.get("evalue", ""))
    names = ", ".join(functions)
    if ename == "KeyError":  # a made-up key of a record, or column of a frame
        return MISSING_KEY.format(key=evalue or "like that")
    if ename == "TypeError" and evalue.startswith("string indices must be integers"):
        return NOT_A_MAPPING
    if ename == "FileNotFoundError":
        return GUESSED_FILE_WITH_FUNCTIONS.format(names=names) if functions else GUESSED_FILE
    if ename in _UNREACHABLE and functions:  # without them, the user's network may be down
        return GUESSED_URL.format(names=names)
    undefined = _UNDEFINED.search(evalue)
    given = {name_of(signature) for signature in functions}
    if ename == "NameError" and functions and undefined and undefined[1] not in given:
        return GUESSED_NAME.format(name=undefined[1], names=names)
    return ""
