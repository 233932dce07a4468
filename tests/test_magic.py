"""%codeact in a real kernel, headless under nbclient, against the scripted model."""

from __future__ import annotations

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from codeact_lab.magic import MIME_TYPE, UsageError, parse

from .conftest import TEST_KEY

SETUP = '''%load_ext codeact_lab
import pandas as pd
from codeact_lab import tool

df = pd.DataFrame({"region": ["north", "south", "north"], "sales": [1, 2, 3]})

@tool
def total_by(frame, column):
    """Total sales per value of ``column``."""
    return frame.groupby(column)["sales"].sum().to_dict()
'''


@pytest.fixture
def kernel_env(tmp_path, scripted, monkeypatch):
    """The kernel reads the same config as the server: a Jupyter config file and env vars."""
    config = tmp_path / "jupyter-config"
    config.mkdir()
    (config / "codeact_lab_config.py").write_text(
        "c.CodeAct.model = 'scripted'\nc.CodeAct.action_timeout = 2\n"
    )
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config))
    monkeypatch.setenv("OPENAI_BASE_URL", scripted.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", TEST_KEY)


def text_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o["output_type"] == "stream")


async def execute(*sources):
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    await NotebookClient(nb, timeout=120, kernel_name="python3").async_execute()
    return nb


async def test_inline_episode_uses_the_users_dataframe_and_tool(kernel_env, scripted):
    scripted.script(
        {"text": "<execute>\nresult = total_by(df, 'region')\nprint(result)\n</execute>"},
        {"text": "North leads. <solution>north: 4, south: 2</solution>"},
    )
    nb = await execute(SETUP, "%codeact --inline total sales by region", "print(result['north'])")
    transcript = text_of(nb.cells[1])
    assert "{'north': 4, 'south': 2}" in transcript
    assert "──────── answer\nnorth: 4, south: 2" in transcript
    assert "solved after 2 turns" in transcript
    assert text_of(nb.cells[2]) == "4\n"  # the agent's code ran in the user's namespace
    system = scripted.requests[0]["messages"][0]["content"]
    assert "- total_by(frame, column): Total sales per value of ``column``." in system
    assert "- df: pandas.DataFrame (shape (3, 2); columns region, sales)" in system
    assert scripted.requests[0]["messages"][1]["content"] == "total sales by region"
    assert TEST_KEY not in str(nb)


async def test_inline_action_timeout_interrupts_and_the_model_recovers(kernel_env, scripted):
    scripted.script(
        {"text": "<execute>\nimport time\ntime.sleep(600)\n</execute>"},
        {"text": "<execute>\nprint('quick')\n</execute>"},
        {"text": "<solution>done</solution>"},
    )
    nb = await execute(
        "%load_ext codeact_lab", "%%codeact --inline --max-turns 4\nbe slow, then quick"
    )
    transcript = text_of(nb.cells[1])
    assert "(timeout)" in transcript and "quick" in transcript
    assert "timed out after 2 s" in scripted.requests[1]["messages"][-1]["content"]
    assert "solved after 3 turns" in transcript


async def test_inline_final_answer_comes_from_the_users_namespace_and_leaves_it(
    kernel_env, scripted
):
    scripted.script(
        {"text": "<execute>\nanswer = sum(range(10)) / 7\nfinal_answer(answer)\n</execute>"}
    )
    nb = await execute(
        "%load_ext codeact_lab",
        "%codeact --inline compute it",
        "print('final_answer' in globals(), answer)",
    )
    transcript = text_of(nb.cells[1])
    assert f"──────── answer\n{45 / 7}" in transcript and "solved after 1 turns" in transcript
    assert text_of(nb.cells[2]) == f"False {45 / 7}\n"  # the action's variable, not the function


async def test_without_inline_the_magic_hands_the_task_to_jupyterlab(kernel_env, scripted):
    nb = await execute("%load_ext codeact_lab", "%%codeact --max-turns 3 --approve\nplot it")
    (output,) = nb.cells[1].outputs
    request = output["data"][MIME_TYPE]
    assert request["task"] == "plot it"
    assert request["settings"] == {"max_turns": 3, "approval": "ask"}
    assert len(request["request_id"]) == 32
    assert "kernel_id" in request and "cell_id" in request  # None under nbclient: no server
    assert "use `%codeact --inline TASK`" in output["data"]["text/plain"]
    assert scripted.requests == []  # nothing ran: the frontend starts it


def test_magic_options_parse_before_the_task():
    request = parse("--model qwen --max-turns 4 summarize --by region", None)
    assert request.task == "summarize --by region"
    assert request.settings == {"model": "qwen", "max_turns": 4}
    assert parse("--inline", "a longer\ntask").task == "a longer\ntask"
    for bad in ("", "--max-turns x task", "--nope task", "--model"):
        with pytest.raises(UsageError):
            parse(bad, None)


def test_the_inline_status_line_shows_endpoint_text_as_text():
    from codeact_lab.inline import StatusView

    view = StatusView("m at http://x/<img src=x onerror=alert(1)>")
    assert view.label is not None  # ipywidgets is a dependency: the widget exists
    view.show("failed", "<script>alert(2)</script>")
    assert "<img" not in view.label.value and "<script>" not in view.label.value
    assert "&lt;img src=x onerror=alert(1)&gt;" in view.label.value
