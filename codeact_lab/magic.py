"""``%codeact`` and ``%%codeact``: start a CodeAct episode from a cell.

    %load_ext codeact_lab
    %codeact summarize df by region
    %%codeact --max-turns 6 --approve
    Load sales.csv, plot monthly revenue
    and tell me the best month.

In JupyterLab with codeact-lab, the cell finishes at once: it publishes a request
(codeact-lab's own MIME type) that the labextension renders by starting the episode
on the server, on this kernel, anchored below this cell, and showing its live
transcript. Elsewhere (nbclient, papermill, VS Code, a console) that display shows
a line saying to use ``--inline``, which runs the same loop inside the kernel.

Options (before the task): --inline, --approve / --auto, --max-turns N, --model NAME.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from .settings_table import PER_EPISODE, Setting

MIME_TYPE = "application/vnd.codeact-lab.episode+json"
FALLBACK = (
    "%codeact needs JupyterLab with codeact-lab to run this episode on the server "
    "(nothing ran). Elsewhere (nbclient, papermill, VS Code, a console) use "
    "`%codeact --inline TASK`, which runs the agent inside this kernel."
)
USAGE = "usage: %codeact [--inline] [--approve|--auto] [--max-turns N] [--model NAME] TASK"
# The options that take a value, and the per-episode setting each sets.
VALUE_OPTIONS = {setting.magic: setting for setting in PER_EPISODE if setting.magic}


class UsageError(ValueError):
    pass


@dataclass
class Request:
    task: str
    inline: bool = False
    settings: dict[str, Any] = field(default_factory=dict)


def parse(line: str, cell: str | None) -> Request:
    """Options first, then the task (the rest of the line, or the cell's body)."""
    request = Request(task="")
    rest = line.strip()
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        rest = rest.lstrip()
        if option == "--inline":
            request.inline = True
        elif option in ("--approve", "--auto"):
            request.settings["approval"] = "ask" if option == "--approve" else "auto"
        elif option in VALUE_OPTIONS:
            value, _, rest = rest.partition(" ")
            rest = rest.lstrip()
            if not value:
                raise UsageError(f"{option} needs a value")
            setting = VALUE_OPTIONS[option]
            request.settings[setting.name] = _value(setting, option, value)
        else:
            raise UsageError(f"unknown option {option}")
    request.task = "\n".join(part for part in (rest, (cell or "").strip()) if part).strip()
    if not request.task:
        raise UsageError("no task given")
    return request


def _value(setting: Setting[Any], option: str, value: str) -> str | int:
    """An option's value, checked against the settings table as the server would."""
    if setting.type is int:
        assert setting.low is not None and setting.high is not None
        low, high = int(setting.low), int(setting.high)
        if not value.isdigit() or not low <= int(value) <= high:
            raise UsageError(f"{option} must be a number from {low} to {high}")
        return int(value)
    return value


def kernel_id() -> str | None:
    """This kernel's id in its Jupyter server, from its connection file name."""
    try:
        from ipykernel.connect import get_connection_file

        name = os.path.basename(get_connection_file())
    except Exception:
        return None
    if name.startswith("kernel-") and name.endswith(".json"):
        return name[len("kernel-") : -len(".json")]
    return None


def current_cell_id(shell: InteractiveShell) -> str | None:
    """JupyterLab sends the id of the cell being run in the execute request's metadata."""
    kernel = getattr(shell, "kernel", None)
    try:
        parent = kernel.get_parent("shell") if kernel is not None else None
        return (parent or {}).get("metadata", {}).get("cellId")
    except Exception:
        return None


@magics_class
class CodeActMagics(Magics):
    @line_cell_magic
    def codeact(self, line: str, cell: str | None = None) -> None:
        try:
            request = parse(line, cell)
        except UsageError as err:
            print(f"{err}\n{USAGE}", file=sys.stderr)
            return
        shell = self.shell
        assert shell is not None
        if request.inline:
            from .inline import run_inline

            run_inline(shell, request.task, request.settings)
            return
        data = {
            "task": request.task,
            "settings": request.settings,
            "request_id": uuid.uuid4().hex,
            "created": time.time(),
            "cell_id": current_cell_id(shell),
            "kernel_id": kernel_id(),
        }
        display({MIME_TYPE: data, "text/plain": FALLBACK}, raw=True)


def register(shell: InteractiveShell) -> None:
    shell.register_magics(CodeActMagics)
