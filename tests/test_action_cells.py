"""An action's cell: one rendering per status, the same in an export and in the live notebook.

labextension/test/fixtures/cells.json is the contract both halves are tested against (the
TypeScript applier in labextension/test/cells.test.js).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

from codeact_lab.action_cell import action_cell, action_source
from codeact_lab.agent.episode import ActionStatus, Episode, Step
from codeact_lab.export import FAILED_NOTE, episode_from_notebook, episode_to_notebook

ROOT = Path(__file__).parent.parent
SCRIPT = ROOT / "labextension" / "test" / "make_cell_fixture.py"


def _fixture_script():
    spec = importlib.util.spec_from_file_location("make_cell_fixture", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cell_fixture_is_up_to_date():
    """If this fails, export.py, action_cell.py or the status groups changed: re-run
    labextension/test/make_cell_fixture.py and mirror the change in src/status.ts and
    src/episodecells.ts (jlpm test checks them against the fixture)."""
    script = _fixture_script()
    assert script.PATH.read_text() == script.text()


def _action(status: str, code: str = "x = 1\n\nprint(x)", **data) -> dict:
    return {"code": code, "status": status, "outputs": [], "execution_count": None, **data}


def test_a_rejected_action_is_commented_out_under_the_users_note():
    data = _action("rejected", approval={"decision": "reject", "note": "no,\n  use  y"})
    assert action_source(data) == "# Rejected by the user: no, use y\n# x = 1\n#\n# print(x)"
    assert action_source({**data, "approval": None}).startswith("# Rejected by the user\n# x")
    assert action_source(data, live=True) == action_source(data)


def test_a_skipped_action_is_commented_out():
    assert action_source(_action("skipped")) == "# Skipped (not run)\n# x = 1\n#\n# print(x)"


def test_an_unfinished_action_runs_live_and_is_commented_out_in_an_export():
    out = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    running = _action("running", outputs=out, execution_count=3)
    live = action_cell("e", "0001-action", running, live=True)
    assert (live["source"], live["outputs"], live["execution_count"]) == (running["code"], out, 3)
    exported = action_cell("e", "0001-action", running)
    assert exported["source"].splitlines()[0] == "# Not finished when exported (running)"
    assert (exported["outputs"], exported["execution_count"]) == ([], None)
    pending = action_cell("e", "0002-action", _action("pending"), live=True)
    assert pending["source"] == "x = 1\n\nprint(x)" and pending["outputs"] == []


def test_every_failed_status_gets_the_tag_and_every_cell_its_status():
    for status in ActionStatus:
        cell = action_cell("e", "0001-action", _action(status.value))
        assert cell["cell_type"] == "code"
        assert cell["metadata"]["codeact"] == {
            "episode": "e",
            "step": "0001-action",
            "status": status.value,
        }
        tagged = "raises-exception" in cell["metadata"].get("tags", [])
        assert tagged == (status.value in {"error", "timeout", "interrupted", "dead", "restarted"})


def _fixture_episode() -> tuple[Episode, dict]:
    fixture = json.loads(_fixture_script().PATH.read_text())
    episode = Episode(task="t", id=fixture["episode"])
    episode.steps = [Step.from_dict(case["step"]) for case in fixture["cases"]]
    return episode, fixture


def test_the_export_makes_the_fixtures_cells():
    episode, fixture = _fixture_episode()
    nb = episode_to_notebook(episode)
    nbformat.validate(nb)
    cells = [c for c in nb.cells if "step" in c.metadata.get("codeact", {})]
    assert len(cells) == len(fixture["cases"])
    for cell, case in zip(cells, fixture["cases"], strict=True):
        plain = json.loads(json.dumps(cell))
        plain.pop("id")
        assert plain == case["export"], case["status"]
    # Only the cells of the actions that ran and finished hold code that runs.
    runnable = [c.metadata["codeact"]["status"] for c in cells if not c.source.startswith("#")]
    assert runnable == ["ok", "error", "timeout", "interrupted", "dead", "restarted"]
    assert FAILED_NOTE in [c.source for c in nb.cells]


def test_a_code_only_export_keeps_the_actions_that_ran_and_finished():
    episode, _ = _fixture_episode()
    nb = episode_to_notebook(episode, code_only=True)
    statuses = [c.metadata["codeact"]["status"] for c in nb.cells if c.cell_type == "code"]
    assert statuses == ["ok", "error", "timeout", "interrupted", "dead", "restarted"]


def test_an_export_with_every_status_round_trips():
    episode, _ = _fixture_episode()
    back = episode_from_notebook(episode_to_notebook(episode))
    # An unfinished action's cell shows nothing: its live outputs are not kept.
    running = next(s for s in episode.steps if s.data["status"] == "running")
    running.data["outputs"] = []
    assert back.steps == episode.steps


def test_a_record_with_an_unknown_action_status_is_refused():
    episode, _ = _fixture_episode()
    nb = episode_to_notebook(episode)
    nb.metadata["codeact"]["record"]["steps"][0]["data"]["status"] = "finished-ish"
    with pytest.raises(ValueError, match="bad action status 'finished-ish'"):
        episode_from_notebook(nb)
