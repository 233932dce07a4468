"""Write test/fixtures/cells.json: the one contract for an action's cell.

For every action status it holds the status groups (ActionStatus.unfinished, .failed,
...), an action step, the cell codeact_lab/export.py makes of it, and the cell the live
applier must make (codeact_lab/action_cell.py with live=True). tests/test_action_cells.py
checks that this file is up to date; test/cells.test.js checks src/status.ts and
src/episodecells.ts against it.

Run from the repository root after changing either:
    .venv/bin/python labextension/test/make_cell_fixture.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codeact_lab.action_cell import action_cell
from codeact_lab.agent.episode import ActionStatus, Episode, Step, StepKind
from codeact_lab.export import episode_to_notebook

PATH = Path(__file__).parent / "fixtures" / "cells.json"
EPISODE = "0123456789abcdef0123456789abcdef"
GROUPS = ("unfinished", "failed", "ran", "completed")
# An empty line and an indented one: how commenting out treats both.
CODE = "total = 0\n\nfor n in [3, 1, 4]:\n    total += n\nprint(total)"
STDOUT = {"output_type": "stream", "name": "stdout", "text": "8\n"}


def _error(name: str, value: str) -> dict[str, Any]:
    return {"output_type": "error", "ename": name, "evalue": value, "traceback": [name]}


# What the record holds when an action ends with each status (loop.py, kernel_executor.py).
_RAN: dict[ActionStatus, list[dict[str, Any]]] = {
    ActionStatus.RUNNING: [{"output_type": "stream", "name": "stdout", "text": "3\n"}],
    ActionStatus.OK: [STDOUT],
    ActionStatus.ERROR: [_error("NameError", "name 'totl' is not defined")],
    ActionStatus.TIMEOUT: [_error("KeyboardInterrupt", "")],
    ActionStatus.INTERRUPTED: [_error("KeyboardInterrupt", "")],
    ActionStatus.DEAD: [],
    ActionStatus.RESTARTED: [STDOUT],
}


def _data(status: ActionStatus, index: int) -> dict[str, Any]:
    ran = status in _RAN
    approval = None
    if status is ActionStatus.REJECTED:
        # A line break in the note: the header must stay one comment line.
        approval = {"decision": "reject", "note": "not like that,\nuse sum()"}
    return {
        "code": CODE,
        "turn": 1,
        "index": index,
        "format": "tag",
        "status": status.value,
        "outputs": _RAN.get(status, []),
        "execution_count": index + 1 if ran else None,
        "duration": 0.01 if ran and not status.unfinished else None,
        "approval": approval,
    }


def _plain(cell: Any) -> dict[str, Any]:
    cell = json.loads(json.dumps(cell))
    cell.pop("id", None)  # random in each notebook
    return cell


def build() -> dict[str, Any]:
    episode = Episode(task="sum the numbers", id=EPISODE, created=0.0)
    for index, status in enumerate(ActionStatus):
        step = Step(f"{index + 1:04d}-action", StepKind.ACTION, 0.0, _data(status, index))
        episode.steps.append(step)
    exported = {
        cell.metadata["codeact"]["step"]: _plain(cell)
        for cell in episode_to_notebook(episode).cells
        if "step" in cell.metadata.get("codeact", {})
    }
    cases = [
        {
            "status": step.data["status"],
            "step": step.to_dict(),
            "export": exported[step.id],
            "live": _plain(action_cell(EPISODE, step.id, step.data, live=True)),
        }
        for step in episode.steps
    ]
    return {
        "groups": {s.value: {g: getattr(s, g) for g in GROUPS} for s in ActionStatus},
        "episode": EPISODE,
        "cases": cases,
    }


def text() -> str:
    return json.dumps(build(), indent=2) + "\n"


if __name__ == "__main__":
    PATH.write_text(text())
    print(f"wrote {len(ActionStatus)} cases to {PATH}")
