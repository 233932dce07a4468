"""One code action as a notebook cell: the one rendering both halves write.

``export.py`` writes it into an exported notebook (``live=False``); the live applier in the
browser (``labextension/src/episodecells.ts``) writes the same cell into the notebook the
agent works in (``live=True``). ``labextension/test/fixtures/cells.json`` holds, for every
status, the step and the cell this module makes, and the tests of both halves check their
cells against it.

=====================================  ===========================================  =====
status                                 source                                       runs
=====================================  ===========================================  =====
ok                                     the code; outputs and execution count        yes
error, timeout, interrupted, dead,     the code; outputs and execution count; the   yes
restarted (``failed``)                 ``raises-exception`` tag, so Run all goes on
rejected                               ``# Rejected by the user: NOTE`` then the    no
                                       code commented out; no outputs, no count
skipped                                ``# Skipped (not run)`` then the code        no
                                       commented out; no outputs, no count
pending, awaiting_approval, running    live: the code as it is (the user approves   yes
(``unfinished``)                       what they see), a running one's outputs;
                                       exported: ``# Not finished when exported     no
                                       (STATUS)`` then the code commented out
=====================================  ===========================================  =====

Every one is a code cell (a commented-out one keeps "Run all" harmless) with the metadata
``codeact: {episode, step, status}``. The live cell adds ``written``, the hash of the source
the applier last wrote, which tells it whether the user has edited the cell since.
"""

from __future__ import annotations

import re
from typing import Any

from .agent.episode import ActionStatus
from .agent.notebook_view import CELL_METADATA_KEY

FAILED_TAG = "raises-exception"
_SPACES = re.compile(r"\s+")


def _commented_out(header: str, code: str) -> str:
    body = "\n".join(f"# {line}" if line else "#" for line in code.split("\n"))
    return f"{header}\n{body}"


def _header(status: ActionStatus, note: str | None) -> str:
    if status is ActionStatus.REJECTED:
        # The note on one line: a line break in it would leave the rest uncommented.
        return "# Rejected by the user" + (": " + _SPACES.sub(" ", note) if note else "")
    if status is ActionStatus.SKIPPED:
        return "# Skipped (not run)"
    return f"# Not finished when exported ({status.value})"


def runs(status: ActionStatus, *, live: bool) -> bool:
    """Whether the cell holds the code itself (else it is commented out and shows nothing)."""
    if status.unfinished:
        # Live, the user approves what they see; exported, it had not run (or not to its
        # end) when the notebook was written, so Run all must not run it there.
        return live
    return status.ran


def action_source(data: dict[str, Any], *, live: bool = False) -> str:
    """The source of an action's cell."""
    status = ActionStatus(data["status"])
    if runs(status, live=live):
        return str(data["code"])
    note = (data.get("approval") or {}).get("note")
    return _commented_out(_header(status, note), data["code"])


def action_cell(
    episode_id: str, step_id: str, data: dict[str, Any], *, live: bool = False
) -> dict[str, Any]:
    """The cell of an action step, as an nbformat v4 cell dict without its id."""
    status = ActionStatus(data["status"])
    shown = runs(status, live=live) and status.ran  # what the kernel gave: outputs, count
    metadata: dict[str, Any] = {
        CELL_METADATA_KEY: {"episode": episode_id, "step": step_id, "status": status.value}
    }
    if status.failed:
        metadata["tags"] = [FAILED_TAG]
    return {
        "cell_type": "code",
        "execution_count": data.get("execution_count") if shown else None,
        "metadata": metadata,
        "outputs": list(data.get("outputs") or []) if shown else [],
        "source": action_source(data, live=live),
    }
