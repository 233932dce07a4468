"""An episode as a Jupyter notebook (nbformat v4), re-runnable top to bottom, and back.

The task, the model's prose and the answer are markdown cells; every action is a
code cell (``action_cell.py``: the same cell the live notebook gets) with its real
outputs and execution count. A failed action keeps its traceback and gets the
``raises-exception`` tag, which nbclient and nbconvert honour, so a re-run does not
stop there (a note at the top says so); an action that did not run is commented out. Provenance
goes in the notebook's metadata: never an API key, never credentials.

The notebook also carries the episode's record without its outputs (those are in
the cells), so ``episode_from_notebook`` rebuilds the episode exactly and a
colleague can continue it (``codeact-lab run --resume``).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from . import __version__
from .action_cell import FAILED_TAG, action_cell, runs
from .agent import ActionStatus, Episode, EpisodeSettings, FinalState, Step, StepKind, parse_reply
from .agent.redact import redact_all

FAILED_NOTE = (
    "*Cells of actions that failed keep their error and carry the `raises-exception` tag, "
    "so running the notebook top to bottom goes past them.*"
)


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


def _record_without_outputs(episode: Episode) -> dict[str, Any]:
    record: dict[str, Any] = dict(episode.to_dict())
    for step in record["steps"]:
        if step["kind"] == "action":
            step["data"] = {k: v for k, v in step["data"].items() if k != "outputs"}
    return record


def _cell_meta(episode: Episode, step_id: str) -> dict[str, Any]:
    return {"codeact": {"episode": episode.id, "step": step_id}}


def _action_cells(episode: Episode, step: Step, code_only: bool) -> list[Any]:
    status = ActionStatus(step.data["status"])
    if code_only and not runs(status, live=False):
        return []  # only the code that ran
    return [new_code_cell(**action_cell(episode.id, step.id, step.data))]


def _other_cells(episode: Episode, step: Step, user_messages: int) -> list[Any]:
    d = step.data
    meta = _cell_meta(episode, step.id)
    if step.kind is StepKind.USER:
        title = "Task" if user_messages == 1 else "Follow-up"
        return [new_markdown_cell(f"**{title}:** {d['text']}", metadata=meta)]
    if step.kind is StepKind.ASSISTANT:
        prose = parse_reply(d.get("text", "")).prose
        return [new_markdown_cell(prose, metadata=meta)] if prose else []
    if step.kind is StepKind.SOLUTION:
        answer = markdown_without_remote_fetches(d["text"])
        return [new_markdown_cell(f"**Answer:** {answer}", metadata=meta)]
    if step.kind is StepKind.ERROR:
        return [new_markdown_cell(f"**Error:** {d['message']}", metadata=meta)]
    return []


def episode_to_notebook(
    episode: Episode,
    *,
    code_only: bool = False,
    kernel_name: str = "python3",
    secrets: Iterable[str | None] = (),
) -> nbformat.NotebookNode:
    """The notebook of an episode; ``code_only`` keeps just the actions that ran."""
    cells: list[Any] = []
    user_messages = 0
    for step in episode.steps:
        if step.kind is StepKind.ACTION:
            cells += _action_cells(episode, step, code_only)
        elif not code_only:
            user_messages += step.kind is StepKind.USER
            cells += _other_cells(episode, step, user_messages)
    if any(FAILED_TAG in c.metadata.get("tags", []) for c in cells):
        cells.insert(1 if not code_only else 0, new_markdown_cell(FAILED_NOTE))
    if not code_only and episode.state not in (None, FinalState.SOLVED):
        assert episode.state is not None
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
    if not code_only:
        nb.metadata["codeact"]["record"] = _record_without_outputs(episode)
    # Secrets out. Home paths stay: the code may need them to re-run (training data drops them).
    nb = nbformat.from_dict(redact_all(nb, secrets, homes=False))
    nbformat.validate(nb)
    return nb


# Model text in a markdown cell: the notebook would load its remote images as soon as it
# renders the cell (labextension/src/noremote.ts does the same for the live notebook).
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
_MEDIA_TAG = re.compile(
    r"<(img|image|video|audio|source|track|iframe|embed|object|input|picture)\b[^>]*>", re.I
)
_TAG_URL = re.compile(
    r"\b(?:src|srcset|poster|href|xlink:href|data|background)\s*=\s*[\"']?([^\"'\s>]+)", re.I
)


def _is_remote(url: str) -> bool:
    value = url.strip().lower()
    if value.startswith(("data:", "blob:")):
        return False
    return bool(re.match(r"[a-z][a-z0-9+.-]*:", value)) or value.startswith("//")


def markdown_without_remote_fetches(markdown: str) -> str:
    """A remote image becomes a link; a media tag that fetches a remote URL, its text."""

    def image(match: re.Match[str]) -> str:
        alt, url = match.group(1), match.group(2)
        return f"[{alt or 'image'}]({url})" if _is_remote(url) else match.group(0)

    def tag(match: re.Match[str]) -> str:
        whole = match.group(0)
        if any(_is_remote(u) for u in _TAG_URL.findall(whole)):
            return "`" + whole.replace("`", "'") + "`"
        return whole

    return _MEDIA_TAG.sub(tag, _MD_IMAGE.sub(image, markdown))


_EPISODE_ID = re.compile(r"[0-9a-f]{32}")
_STEP_ID = re.compile(r"[0-9]{1,6}-[a-z]{1,16}")
_STEP_KINDS = {kind.value for kind in StepKind}
_ACTION_STATUSES = {status.value for status in ActionStatus}


def _check_record(record: dict[str, Any]) -> None:
    """A record from a file is checked like any other input: ids, kinds, shapes."""
    if not isinstance(record.get("id"), str) or not _EPISODE_ID.fullmatch(record["id"]):
        raise ValueError("the episode id must be 32 lowercase hexadecimal characters")
    if not isinstance(record.get("task"), str):
        raise ValueError("the episode's task must be a string")
    steps = record.get("steps")
    if not isinstance(steps, list):
        raise ValueError("the episode's steps must be a list")
    for step in steps:
        if not isinstance(step, dict) or not isinstance(step.get("data"), dict):
            raise ValueError("each step must be an object with a data object")
        if not isinstance(step.get("id"), str) or not _STEP_ID.fullmatch(step["id"]):
            raise ValueError(f"bad step id {str(step.get('id'))[:40]!r}")
        if step.get("kind") not in _STEP_KINDS:
            raise ValueError(f"bad step kind {str(step.get('kind'))[:40]!r}")
        if not isinstance(step.get("time"), (int, float)) or isinstance(step["time"], bool):
            raise ValueError("each step's time must be a number")
        if step["kind"] == "action" and not isinstance(step["data"].get("code"), str):
            raise ValueError("each action step must have its code as a string")
        if step["kind"] == "action" and step["data"].get("status") not in _ACTION_STATUSES:
            raise ValueError(f"bad action status {str(step['data'].get('status'))[:40]!r}")


def episode_from_notebook(nb: nbformat.NotebookNode) -> Episode:
    """Rebuild the episode an exported notebook holds (its record, outputs from its cells).

    Raises ValueError for a notebook that was not exported whole by codeact-lab.
    """
    record = (nb.metadata.get("codeact") or {}).get("record")
    if not isinstance(record, dict) or "steps" not in record:
        raise ValueError(
            "this notebook holds no codeact-lab episode (export it whole, not code-only)"
        )
    _check_record(record)
    record = copy.deepcopy(record)
    outputs = {}
    for cell in nb.cells:
        step_id = (cell.metadata.get("codeact") or {}).get("step")
        if step_id and cell.cell_type == "code":
            outputs[step_id] = [dict(o) for o in cell.outputs]
    for step in record["steps"]:
        if step["kind"] == "action":
            step["data"]["outputs"] = outputs.get(step["id"], [])
    episode = Episode.from_dict(record)
    episode.settings = EpisodeSettings.from_dict(record.get("settings"))
    return episode


def hides_code(nb: nbformat.NotebookNode, episode: Episode) -> bool:
    """Whether continuing ``episode`` would re-run code that the notebook's cells do not show
    as it is (the record says one thing, the cells another, or there is no cell)."""
    sources = {}
    for cell in nb.cells:
        step_id = (cell.metadata.get("codeact") or {}).get("step")
        if step_id and cell.cell_type == "code":
            sources[step_id] = cell.source
    return any(
        sources.get(step.id) != step.data.get("code")
        for step in episode.steps_of(StepKind.ACTION)
        if step.data.get("status") == ActionStatus.OK.value and step.data.get("format") != "restore"
    )
