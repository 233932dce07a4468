"""What the model is told about the notebook it works in: a compact view, then what changed.

Cells arrive as nbformat dicts: from the saved file, or from the frontend's snapshot
of the live notebook (the same shape, outputs already cut, so unsaved edits count).
Nothing here trusts them: a field may be missing or of the wrong type, and such a
cell is read as well as it can be.

The view has a token budget of its own. The latest error (the last cell the user
ran raised) is always in it; then the anchor cell (where the episode's cells go)
and the cells nearest it, above first, each cell's source and outputs cut
head-and-tail, never an image or a megabyte of text; the cells left out are named
as gaps, so the model knows the notebook goes on.

A follow-up carries only what changed: each view comes with a small digest of the
cells (id, a hash of the source, execution count, error), and the next message
compares the notebook with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .observation import render_outputs, strip_ansi, traceback_text, truncate_middle
from .prompts import FIX_CELL_TASK
from .redact import redact
from .tokens import estimate_tokens

DEFAULT_BUDGET_TOKENS = 1500
CELL_METADATA_KEY = "codeact"  # the applier's mark on an episode's cells
# What one cell may take in the view, full and (when the budget is short) compact.
SOURCE_CHARS, COMPACT_SOURCE_CHARS = 1500, 240
OUTPUT_CHARS, COMPACT_OUTPUT_CHARS = 400, 120
MAX_OUTPUTS_SHOWN = 3
TRACEBACK_LINES, TRACEBACK_CHARS = 12, 1500
CHANGE_SOURCE_CHARS = 600
MAX_CELLS_READ = 2000  # a notebook with more is read from the anchor outwards


@dataclass
class CellDigest:
    """One cell, as the view reads it."""

    index: int  # 1-based position in the notebook
    id: str
    kind: str  # code, markdown or raw
    source: str
    execution_count: int | None
    outputs: list[str] = field(default_factory=list)  # one text per output
    error: str | None = None  # "KeyError: 'price'" when an output is an error
    traceback: str = ""
    episode: str | None = None  # the episode whose action this cell is

    def fingerprint(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": hashlib.sha256(self.source.encode()).hexdigest()[:16],
            "count": self.execution_count,
            "error": self.error,
        }


@dataclass
class NotebookContext:
    """What a user message carries of the notebook: the text the model reads, and the
    digest of the cells it describes (what the next message's changes are measured from)."""

    text: str
    cells: list[dict[str, Any]]

    def to_step_data(self) -> dict[str, Any]:
        return {"notebook": self.text, "notebook_cells": self.cells}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _output_text(output: Mapping[str, Any], limit: int) -> str:
    kind = output.get("output_type")
    if kind == "error":
        return f"Error: {_error_line(output)}"
    if kind == "stream":
        label = "stderr" if output.get("name") == "stderr" else "stdout"
        text = strip_ansi(_text(output.get("text"))).strip("\n")
        return f"{label}: {truncate_middle(text, limit)}" if text else ""
    if kind in ("execute_result", "display_data"):
        data = output.get("data")
        if not isinstance(data, Mapping):
            return ""
        if "application/vnd.jupyter.widget-view+json" in data:
            return "Out: [a widget]"
        # render_outputs reads mimetypes the way observations do (images as placeholders).
        text = render_outputs([{"output_type": kind, "data": data}]).text
        return f"Out: {truncate_middle(text, limit)}" if text else ""
    return ""


def _error_line(output: Mapping[str, Any]) -> str:
    name = strip_ansi(_text(output.get("ename"))) or "Error"
    value = strip_ansi(_text(output.get("evalue")))
    return truncate_middle(f"{name}: {value}" if value else name, 300)


def _traceback(output: Mapping[str, Any]) -> str:
    lines = output.get("traceback")
    if not isinstance(lines, list):
        return ""
    text = traceback_text(lines)
    tail = "\n".join(text.splitlines()[-TRACEBACK_LINES:])
    return truncate_middle(tail, TRACEBACK_CHARS)


def read_cells(cells: Any) -> list[CellDigest]:
    """The cells of an nbformat notebook (or the frontend's snapshot) as digests."""
    digests: list[CellDigest] = []
    if not isinstance(cells, list):
        return digests
    for position, cell in enumerate(cells[:MAX_CELLS_READ], start=1):
        if not isinstance(cell, Mapping):
            continue
        kind = str(cell.get("cell_type"))
        count, cell_id = cell.get("execution_count"), cell.get("id")
        metadata = cell.get("metadata")
        mark = metadata.get(CELL_METADATA_KEY) if isinstance(metadata, Mapping) else None
        episode = mark.get("episode") if isinstance(mark, Mapping) else None
        digest = CellDigest(
            index=position,
            id=cell_id if isinstance(cell_id, str) else f"cell-{position}",
            kind=kind if kind in ("code", "markdown") else "raw",
            source=_text(cell.get("source")),
            execution_count=count if type(count) is int else None,
            episode=episode if isinstance(episode, str) else None,
        )
        outputs = cell.get("outputs") if kind == "code" else None
        for output in outputs if isinstance(outputs, list) else []:
            if not isinstance(output, Mapping):
                continue
            if output.get("output_type") == "error":
                digest.error, digest.traceback = _error_line(output), _traceback(output)
            text = _output_text(output, OUTPUT_CHARS)
            if text:
                digest.outputs.append(text)
        digests.append(digest)
    return digests


def _heading(cell: CellDigest, anchor: bool) -> str:
    parts = [cell.kind]
    if cell.kind == "code":
        parts.append(f"In [{cell.execution_count}]" if cell.execution_count else "not run")
    if cell.error:
        parts.append("raised")
    if cell.episode:
        parts.append("written by CodeAct")
    heading = f"--- cell {cell.index} ({', '.join(parts)})"
    return heading + (" <- selected: your cells go below this one" if anchor else "")


def render_cell(cell: CellDigest, *, anchor: bool = False, compact: bool = False) -> str:
    source_chars = COMPACT_SOURCE_CHARS if compact else SOURCE_CHARS
    output_chars = COMPACT_OUTPUT_CHARS if compact else OUTPUT_CHARS
    lines = [_heading(cell, anchor)]
    if cell.source.strip():
        lines.append(truncate_middle(cell.source.rstrip(), source_chars))
    shown = cell.outputs[:MAX_OUTPUTS_SHOWN]
    for text in shown:
        lines.append(truncate_middle(text, output_chars))
    if len(cell.outputs) > len(shown):
        lines.append(f"[{len(cell.outputs) - len(shown)} more outputs]")
    return "\n".join(lines)


def latest_error(cells: Sequence[CellDigest]) -> CellDigest | None:
    """The last cell the user ran (the highest execution count), if it raised."""
    ran = [c for c in cells if c.execution_count is not None]
    if not ran:
        return None
    last = max(ran, key=lambda c: c.execution_count or 0)
    return last if last.error else None


def _error_section(cell: CellDigest) -> str:
    text = f"The last cell the user ran (cell {cell.index}, In [{cell.execution_count}]) raised {cell.error}"
    return text + (f"\nTraceback (last lines):\n{cell.traceback}" if cell.traceback else "")


def _nearest_first(count: int, anchor: int) -> list[int]:
    """Positions by distance from ``anchor``, the cell above before the one below."""
    order = [anchor]
    for distance in range(1, count):
        for position in (anchor - distance, anchor + distance):
            if 0 <= position < count:
                order.append(position)
    return order


def _gap(first: int, last: int) -> str:
    if first == last:
        return f"--- [cell {first} not shown]"
    return f"--- [cells {first}-{last} not shown]"


def describe_notebook(
    cells: Any,
    path: str,
    anchor_cell_id: str | None = None,
    *,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    secrets: Iterable[str] = (),
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> NotebookContext:
    """The view of a notebook the first message of an episode carries."""
    digests = read_cells(cells)
    if not digests:  # an empty notebook says nothing the model needs
        return NotebookContext("", [])
    keys = list(secrets)
    anchor = next((i for i, c in enumerate(digests) if c.id == anchor_cell_id), None)
    header = f"The user's notebook {path} has {len(digests)} cells"
    header += (
        f"; your cells go below cell {digests[anchor].index}."
        if anchor is not None
        else "; your cells go at its end."
    )
    sections = [header]
    failed = latest_error(digests)
    if failed is not None:
        sections.append(_error_section(failed))
    left = budget_tokens - sum(count_tokens(s) for s in sections)
    chosen: dict[int, str] = {}
    start = anchor if anchor is not None else len(digests) - 1
    for position in _nearest_first(len(digests), start) if digests else []:
        cell, is_anchor = digests[position], position == anchor
        for compact in (False, True):
            text = redact(render_cell(cell, anchor=is_anchor, compact=compact), keys)
            cost = count_tokens(text) + 1
            if cost <= left:
                chosen[position], left = text, left - cost
                break
    body: list[str] = []
    skipped_from: int | None = None
    for position, cell in enumerate(digests):
        if position in chosen:
            if skipped_from is not None:
                body.append(_gap(skipped_from, cell.index - 1))
                skipped_from = None
            body.append(chosen[position])
        elif skipped_from is None:
            skipped_from = cell.index
    if skipped_from is not None:
        body.append(_gap(skipped_from, digests[-1].index))
    if body:
        sections.insert(1, "\n".join(body))
    return NotebookContext("\n\n".join(sections), [c.fingerprint() for c in digests])


def describe_changes(
    previous: Sequence[Mapping[str, Any]],
    cells: Any,
    *,
    episode_id: str | None = None,
    budget_tokens: int = DEFAULT_BUDGET_TOKENS,
    secrets: Iterable[str] = (),
    count_tokens: Callable[[str], int] = estimate_tokens,
) -> NotebookContext:
    """What the user changed in the notebook since the previous message's view: cells
    edited, added, run or deleted (with new errors). The episode's own cells are left
    out: the model knows them from the conversation."""
    digests = read_cells(cells)
    keys = list(secrets)
    before = {str(c.get("id")): c for c in previous if isinstance(c, Mapping)}
    now_ids = {c.id for c in digests}
    lines: list[str] = []
    for cell in digests:
        if episode_id is not None and cell.episode == episode_id:
            continue
        old = before.get(cell.id)
        mark = cell.fingerprint()
        if old is None:
            what = "added"
        else:
            rerun = old.get("count") != mark["count"]
            parts = [
                name
                for name, happened in (
                    ("edited", old.get("source") != mark["source"]),
                    ("ran", rerun and cell.execution_count is not None),
                    ("outputs cleared", rerun and cell.execution_count is None),
                )
                if happened
            ]
            if not parts:
                continue
            what = " and ".join(parts)
        lines.append(f"--- cell {cell.index} ({cell.kind}): {what}")
        if what != "ran" and cell.source.strip():
            lines.append(truncate_middle(cell.source.rstrip(), CHANGE_SOURCE_CHARS))
        if "ran" in what or what == "added":
            lines.extend(truncate_middle(o, COMPACT_OUTPUT_CHARS * 2) for o in cell.outputs[:2])
    gone = [c for c in before.values() if str(c.get("id")) not in now_ids]
    if gone:
        lines.append(f"--- {len(gone)} cell{'s' if len(gone) > 1 else ''} deleted")
    text = ""
    if lines:
        text = "Since your last message the user changed the notebook:\n" + "\n".join(lines)
        failed = latest_error(digests)
        if (
            failed is not None
            and (before.get(failed.id) or {}).get("count") != failed.execution_count
        ):
            text += "\n" + _error_section(failed)
        text = whole = redact(text, keys)
        tokens, limit = count_tokens(text), len(text)
        while tokens > budget_tokens and limit > 100:  # the estimate is not linear: converge
            limit = limit * budget_tokens // tokens - 50
            text = truncate_middle(whole, limit)
            tokens = count_tokens(text)
    return NotebookContext(text, [c.fingerprint() for c in digests])


def fix_cell_task(cells: Any, cell_id: str, *, secrets: Iterable[str] = ()) -> str | None:
    """The task of "Fix with CodeAct": the cell's source and its error. None when the
    cell is not in the notebook or did not raise."""
    cell = next((c for c in read_cells(cells) if c.id == cell_id), None)
    if cell is None or cell.error is None:
        return None
    task = FIX_CELL_TASK.format(
        index=cell.index,
        error=cell.error,
        source=truncate_middle(cell.source.rstrip(), 20_000),
        traceback=cell.traceback or cell.error,
    )
    return str(redact(task, list(secrets)))
