"""The model is shown the notebook it works in, through the real server (pytest-jupyter).

What the scripted model was sent is the assertion: the view of the live notebook a
client sends (unsaved edits), else of the saved file, and what changed by a follow-up.
"""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from tornado.httpclient import HTTPClientError

# The server the episodes API tests use: the scripted model, a store of its own.
from .test_server_episodes import codeact_db, jp_server_config, kernel_id, post, wait_state  # noqa: F401

NOTEBOOK = "sales.ipynb"


def saved_cells() -> list:
    return [
        new_markdown_cell("# Sales", id="title"),
        new_code_cell("threshold = 0.75", id="threshold"),  # written, never run
        new_code_cell(
            "df['revenue'].sum()",
            id="fails",
            execution_count=4,
            outputs=[
                new_output(
                    "error",
                    ename="KeyError",
                    evalue="'revenue'",
                    traceback=["KeyError Traceback", "KeyError: 'revenue'"],
                )
            ],
        ),
    ]


@pytest.fixture
def notebook(jp_root_dir):
    nb = new_notebook(cells=saved_cells())
    nbformat.validate(nb)
    nbformat.write(nb, jp_root_dir / NOTEBOOK)
    return NOTEBOOK


async def start(jp_fetch, path, kernel_id, task, **extra):
    body = {"task": task, "notebook_path": path, "kernel_id": kernel_id, **extra}
    return await post(jp_fetch, "episodes", body=body)


def first_user_message(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


async def test_without_a_snapshot_the_saved_notebook_is_shown(
    jp_fetch, scripted, notebook, kernel_id
):
    scripted.script({"text": "<solution>0.75</solution>"})
    created = await start(
        jp_fetch, notebook, kernel_id, "why does it fail?", anchor_cell_id="fails"
    )
    record = await wait_state(jp_fetch, created["id"])
    sent = first_user_message(scripted.requests[0])
    assert sent.endswith("why does it fail?")
    assert "The user's notebook sales.ipynb has 3 cells; your cells go below cell 3." in sent
    assert sent.index("# Sales") < sent.index("threshold = 0.75") < sent.index("df['revenue']")
    assert "(code, In [4], raised) <- selected" in sent
    assert "raised KeyError: 'revenue'" in sent
    user = record["steps"][0]
    assert user["data"]["text"] == "why does it fail?"  # the record keeps what the user wrote
    assert user["data"]["notebook"] in sent  # and what the model read besides
    assert [c["id"] for c in user["data"]["notebook_cells"]] == ["title", "threshold", "fails"]


async def test_the_live_snapshot_wins_over_the_saved_file(jp_fetch, scripted, notebook, kernel_id):
    live = [c for c in saved_cells()]
    live[1] = new_code_cell("threshold = 0.9  # unsaved edit", id="threshold")
    scripted.script({"text": "<solution>0.9</solution>"})
    created = await start(
        jp_fetch, notebook, kernel_id, "which threshold?", notebook={"cells": live}
    )
    await wait_state(jp_fetch, created["id"])
    sent = first_user_message(scripted.requests[0])
    assert "threshold = 0.9  # unsaved edit" in sent and "0.75" not in sent


async def test_a_follow_up_carries_what_the_user_changed(jp_fetch, scripted, notebook, kernel_id):
    scripted.script({"text": "<solution>first</solution>"}, {"text": "<solution>again</solution>"})
    created = await start(jp_fetch, notebook, kernel_id, "look", notebook={"cells": saved_cells()})
    await wait_state(jp_fetch, created["id"])
    cells = saved_cells()
    cells[1] = new_code_cell("threshold = 0.5", id="threshold", execution_count=5)
    await post(
        jp_fetch,
        "episodes",
        created["id"],
        "messages",
        body={"text": "I changed the threshold, run it again", "notebook": {"cells": cells}},
    )
    await wait_state(jp_fetch, created["id"])
    last = scripted.requests[-1]["messages"][-1]["content"]
    assert "Since your last message the user changed the notebook:" in last
    assert "cell 2 (code): edited and ran" in last and "threshold = 0.5" in last
    assert last.endswith("I changed the threshold, run it again")
    assert "# Sales" not in last  # only what changed


async def test_turned_off_by_the_client_nothing_is_read(jp_fetch, scripted, notebook, kernel_id):
    scripted.script({"text": "<solution>x</solution>"})
    created = await start(
        jp_fetch, notebook, kernel_id, "plain", settings={"describe_notebook": False}
    )
    await wait_state(jp_fetch, created["id"])
    assert first_user_message(scripted.requests[0]) == "plain"


async def test_a_malformed_snapshot_is_a_clear_400(jp_fetch, scripted, notebook, kernel_id):
    with pytest.raises(HTTPClientError) as err:
        await start(jp_fetch, notebook, kernel_id, "t", notebook={"cells": "all of them"})
    assert err.value.code == 400
    assert b"notebook must be an object with a list of cells" in err.value.response.body


async def test_fix_cell_starts_an_episode_whose_task_is_the_cells_code_and_error(
    jp_fetch, scripted, notebook, kernel_id
):
    scripted.script({"text": "<solution>the column is called price</solution>"})
    body = {"notebook_path": notebook, "kernel_id": kernel_id, "fix_cell_id": "fails"}
    created = await post(jp_fetch, "episodes", body=body)
    assert created["metadata"]["fix_cell_id"] == "fails"
    assert created["metadata"]["anchor_cell_id"] == "fails"
    assert created["task"].startswith("Fix cell 3 of my notebook: it raised KeyError: 'revenue'.")
    assert "df['revenue'].sum()" in created["task"]
    await wait_state(jp_fetch, created["id"])
    sent = first_user_message(scripted.requests[0])
    assert "<- selected" in sent and sent.endswith(created["task"])

    for cell in ("threshold", "nowhere"):  # no error to fix; no such cell
        with pytest.raises(HTTPClientError) as err:
            await post(jp_fetch, "episodes", body={**body, "fix_cell_id": cell})
        assert err.value.code == 400
        assert b"has no error to fix" in err.value.response.body
