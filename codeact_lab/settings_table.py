"""The settings a user may choose per episode, declared once.

Each row says what the setting is called, its type, its range or choices, its default,
its help and how each place spells it: the ``CodeAct`` trait (``config.py``), the
server's per-episode check (``server/validation.py``), the command line's flag
(``cli.py``, ``evaluation/command.py``), the ``%codeact`` option (``magic.py``) and the
JupyterLab setting (``labextension/schema/plugin.json``, checked against this table by
``tests/test_settings_table.py``).

It imports nothing heavy: the kernel reads it for the magic.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

V = TypeVar("V", str, int, float, bool)


@dataclass(frozen=True)
class Frontend:
    """The setting in JupyterLab's settings (plugin.json)."""

    property: str
    # What the frontend holds when the user chose nothing, so it sends nothing and the
    # server's own setting holds: "" or 0 below the range, or the table's default.
    default: object


@dataclass(frozen=True)
class Setting(Generic[V]):
    name: str  # the per-episode key the server takes, and the CodeAct trait's name
    type: type[V]  # str, int, float or bool: what JSON must send, never coerced
    default: V  # the CodeAct trait's default
    help: str  # the CodeAct trait's help
    low: float | None = None  # the range, for numbers
    high: float | None = None
    low_open: bool = False  # the low end is not allowed itself ((0, 86400])
    choices: tuple[str, ...] = ()
    max_length: int | None = None  # for strings
    url: bool = False  # an http(s) URL the model client accepts
    flag: str | None = None  # the command line's option
    cli_help: str | None = None  # its help in ``codeact-lab run``
    magic: str | None = None  # the %codeact option that takes a value
    frontend: Frontend | None = None

    def add_to(self, parser: argparse.ArgumentParser, **changes: Any) -> None:
        """Add this setting's command-line option; ``changes`` are a command's own
        defaults and help (``codeact-lab eval`` keeps the paper's)."""
        assert self.flag is not None, f"{self.name} has no command-line flag"
        options: dict[str, Any] = {}
        if self.type in (int, float):
            options["type"] = self.type
        if self.cli_help is not None:
            options["help"] = self.cli_help
        parser.add_argument(self.flag, **{**options, **changes})


MODEL = Setting(
    "model",
    str,
    default="gpt-4o-mini",  # unless CODEACT_MODEL says otherwise
    help="Model name sent to the endpoint (env CODEACT_MODEL).",
    max_length=200,
    flag="--model",
    cli_help="model name (default: config, CODEACT_MODEL)",
    magic="--model",
    frontend=Frontend("model", ""),
)
BASE_URL = Setting(
    "base_url",
    str,
    default="",
    help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1 (env OPENAI_BASE_URL).",
    url=True,
    flag="--base-url",
    cli_help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL)",
    frontend=Frontend("baseUrl", ""),
)
APPROVAL = Setting(
    "approval",
    str,
    default="auto",
    help="Run actions at once (auto) or ask before each (ask).",
    choices=("auto", "ask"),
    frontend=Frontend("approval", ""),  # the magic's --approve / --auto
)
MAX_TURNS = Setting(
    "max_turns",
    int,
    default=10,
    help="Most model calls for one user message.",
    low=1,
    high=100,
    flag="--max-turns",
    cli_help="most model calls (default 10)",
    magic="--max-turns",
    frontend=Frontend("maxTurns", 0),
)
ACTION_TIMEOUT = Setting(
    "action_timeout",
    float,
    default=60.0,
    help="Seconds one code action may run before the kernel is interrupted.",
    low=0,
    high=86400,
    low_open=True,
    flag="--timeout",
    cli_help="seconds per action before the kernel is interrupted",
)
TEMPERATURE = Setting(
    "temperature",
    float,
    default=0.0,
    help="Sampling temperature.",
    low=0,
    high=2,
    flag="--temperature",
)
DESCRIBE_NOTEBOOK = Setting(
    "describe_notebook",
    bool,
    default=True,
    help="Show the model the notebook it works in: its cells, outputs and latest error "
    "when an episode starts, what the user changed with each follow-up.",
    frontend=Frontend("describeNotebook", True),
)

# In the order the server lists them when it refuses an unknown one.
PER_EPISODE: tuple[Setting[Any], ...] = (
    MODEL,
    BASE_URL,
    APPROVAL,
    MAX_TURNS,
    ACTION_TIMEOUT,
    TEMPERATURE,
    DESCRIBE_NOTEBOOK,
)
BY_NAME = {setting.name: setting for setting in PER_EPISODE}
