"""An episode as a Jupyter notebook (nbformat v4), re-runnable top to bottom.

The task, the model's prose and the answer are markdown cells; every action is a
code cell with its real outputs and execution count. A failed action keeps its
traceback and gets the ``raises-exception`` tag, which nbclient and nbconvert
honour, so a re-run does not stop there. Provenance goes in the notebook's
metadata: never an API key, never credentials.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from . import __version__
from .agent import ActionStatus, Episode, StepKind, parse_reply
from .agent.redact import redact, usable_secrets

FAILED_STATUSES = {
    ActionStatus.ERROR.value,
    ActionStatus.TIMEOUT.value,
    ActionStatus.INTERRUPTED.value,
    ActionStatus.DEAD.value,
}


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).isoformat()


def provenance(episode: Episode) -> dict[str, Any]:
    s = episode.settings
    return {
        "codeact_lab_version": __version__,
        "episode": episode.id,
        "model": s.model,
        "endpoint": s.endpoint,
        "prompt_version": s.prompt_version,
        "started": _iso(episode.created),
        "ended": _iso(episode.ended),
        "final_state": episode.state.value if episode.state else "running",
        "reason": episode.reason,
        "turns": episode.turns,
        "usage": episode.usage.to_dict(),
    }


def _cell_meta(episode: Episode, step_id: str, **extra: Any) -> dict[str, Any]:
    return {"codeact": {"episode": episode.id, "step": step_id, **extra}}


def episode_to_notebook(
    episode: Episode,
    *,
    code_only: bool = False,
    kernel_name: str = "python3",
    secrets: Iterable[str | None] = (),
) -> nbformat.NotebookNode:
    """The notebook of an episode; ``code_only`` keeps just the actions that ran."""
    cells = []
    user_messages = 0
    for step in episode.steps:
        d = step.data
        if step.kind is StepKind.ACTION:
            status = d.get("status")
            if status in (ActionStatus.REJECTED.value, ActionStatus.SKIPPED.value, "pending"):
                if not code_only:
                    why = "rejected by the user" if status == "rejected" else "not run"
                    text = f"*Action {why}:*\n\n```python\n{d['code']}\n```"
                    cells.append(new_markdown_cell(text, metadata=_cell_meta(episode, step.id)))
                continue
            meta = _cell_meta(episode, step.id, status=status)
            if status in FAILED_STATUSES:
                meta["tags"] = ["raises-exception"]
            cell = new_code_cell(
                d["code"],
                outputs=[nbformat.from_dict(o) for o in d.get("outputs") or []],
                execution_count=d.get("execution_count"),
                metadata=meta,
            )
            cells.append(cell)
        elif code_only:
            continue
        elif step.kind is StepKind.USER:
            user_messages += 1
            title = "Task" if user_messages == 1 else "Follow-up"
            cells.append(
                new_markdown_cell(
                    f"**{title}:** {d['text']}", metadata=_cell_meta(episode, step.id)
                )
            )
        elif step.kind is StepKind.ASSISTANT:
            prose = parse_reply(d.get("text", "")).prose
            if prose:
                cells.append(new_markdown_cell(prose, metadata=_cell_meta(episode, step.id)))
        elif step.kind is StepKind.SOLUTION:
            cells.append(
                new_markdown_cell(f"**Answer:** {d['text']}", metadata=_cell_meta(episode, step.id))
            )
        elif step.kind is StepKind.ERROR:
            cells.append(
                new_markdown_cell(
                    f"**Error:** {d['message']}", metadata=_cell_meta(episode, step.id)
                )
            )
    if not code_only and episode.state is not None and episode.state.value != "solved":
        note = f"*Episode ended: {episode.state.value}*" + (
            f" ({episode.reason})" if episode.reason else ""
        )
        cells.append(new_markdown_cell(note, metadata={"codeact": {"episode": episode.id}}))

    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": kernel_name,
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["codeact"] = provenance(episode)
    keys = usable_secrets(secrets)
    if keys:
        nb = nbformat.from_dict(redact(nb, keys))
    nbformat.validate(nb)
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: str) -> None:
    nbformat.write(nb, path)
