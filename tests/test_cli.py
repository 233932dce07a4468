"""``codeact-lab run``: a real process, a real kernel, the scripted model over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
import pytest

from .conftest import TEST_KEY


def run_cli(tmp_path, scripted, *args, env_extra=None, timeout=120):
    notebook = tmp_path / "episode.ipynb"
    env = dict(os.environ, OPENAI_API_KEY=TEST_KEY, **(env_extra or {}))
    env.pop("OPENAI_BASE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "codeact_lab.cli", "run", *args, "-o", str(notebook)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tmp_path,
    )
    return proc, notebook


def test_two_step_task_is_solved_and_written_as_a_notebook(tmp_path, scripted):
    scripted.script(
        {
            "text": "First the data.\n<execute>\ndata = [3, 1, 4, 1, 5]\nprint(sorted(data))\n</execute>"
        },
        {"text": "<execute>\nprint(sum(data) / len(data))\n</execute>"},
        {"text": "The mean is <solution>2.8</solution>"},
    )
    events = tmp_path / "events.jsonl"
    proc, path = run_cli(
        tmp_path,
        scripted,
        "mean of 3 1 4 1 5",
        "--base-url",
        scripted.base_url,
        "--model",
        "scripted",
        "--events",
        str(events),
    )
    assert proc.returncode == 0, proc.stderr
    assert "[1, 1, 3, 4, 5]" in proc.stdout and "2.8" in proc.stdout
    assert "solved in 3 turns" in proc.stderr

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    kinds = [c.cell_type for c in nb.cells]
    assert kinds == ["markdown", "markdown", "code", "code", "markdown", "markdown"]
    first, second = (c for c in nb.cells if c.cell_type == "code")
    assert first.outputs[0]["text"] == "[1, 1, 3, 4, 5]\n" and first.execution_count == 1
    assert second.outputs[0]["text"] == "2.8\n" and second.execution_count == 2
    assert nb.cells[-1].source == "**Answer:** 2.8"
    meta = nb.metadata["codeact"]
    assert meta["final_state"] == "solved" and meta["model"] == "scripted"
    assert meta["endpoint"] == scripted.base_url and meta["turns"] == 3
    assert first.metadata["codeact"]["episode"] == meta["episode"]
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["type"] == "final" and lines[-1]["data"]["state"] == "solved"


def test_api_key_is_in_no_notebook_log_or_event(tmp_path, scripted):
    scripted.script(
        {"text": "<execute>\nimport os\nprint(os.environ.get('OPENAI_API_KEY'))\n</execute>"},
        # A model that somehow knows the key and prints it.
        {"text": f"<execute>\nprint('{TEST_KEY}')\n</execute>"},
        {"text": "<solution>done</solution>"},
    )
    events = tmp_path / "events.jsonl"
    proc, path = run_cli(
        tmp_path,
        scripted,
        "print the key",
        "--base-url",
        scripted.base_url,
        "--events",
        str(events),
    )
    assert proc.returncode == 0, proc.stderr
    # The key reached the model server only as the Authorization header.
    assert scripted.headers[0]["Authorization"] == f"Bearer {TEST_KEY}"
    assert TEST_KEY not in json.dumps(scripted.requests[0])
    # The kernel the agent's code runs in does not inherit it.
    nb = nbformat.read(path, as_version=4)
    first, second = (c for c in nb.cells if c.cell_type == "code")
    assert first.outputs[0]["text"] == "None\n"
    # Printed anyway, it is redacted from the notebook, the transcript and the events.
    assert second.outputs[0]["text"] == "[redacted]\n"
    assert TEST_KEY not in path.read_text()
    assert TEST_KEY not in proc.stdout and TEST_KEY not in proc.stderr
    assert "[redacted]" in proc.stdout
    assert TEST_KEY not in events.read_text()


def test_unreachable_endpoint_fails_clearly_and_still_writes_the_notebook(tmp_path, scripted):
    proc, path = run_cli(
        tmp_path, scripted, "anything", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "codeact-lab: failed: the model endpoint http://127.0.0.1:9/v1 is unreachable"
    )
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["codeact"]["final_state"] == "failed"
    assert "unreachable" in nb.cells[-1].source


@pytest.mark.parametrize(
    ("script", "flags", "code", "state"),
    [
        ([{"text": "<execute>print(1)</execute>"}] * 2, ["--max-turns", "2"], 3, "max_turns"),
        ([{"text": "Which file do you mean?"}], [], 6, "replied"),
    ],
)
def test_exit_status_says_how_it_ended(tmp_path, scripted, script, flags, code, state):
    scripted.script(*script)
    proc, path = run_cli(tmp_path, scripted, "t", "--base-url", scripted.base_url, *flags)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(f"codeact-lab: {state}: ")
    assert nbformat.read(path, as_version=4).metadata["codeact"]["final_state"] == state


def test_the_transcript_never_passes_terminal_escapes_through():
    import io

    from codeact_lab.agent import Episode, EventType, StepKind
    from codeact_lab.transcript import TranscriptPrinter

    episode = Episode(task="t")
    out = io.StringIO()
    printer = TranscriptPrinter(episode, out)
    hostile = (
        "\x1b]0;pwned title\x07\x1b]52;c;Y3VybCBldmlsLnNo\x07"  # title, clipboard write
        "\x1b[8mhidden\x1b[0m \x1b[2J\x9b31m visible\r\n"
    )
    printer(episode.event(EventType.TEXT_DELTA, turn=1, text=hostile))
    printer(episode.step_event(EventType.SOLUTION, StepKind.SOLUTION, text=hostile, turn=1))
    printed = out.getvalue()
    assert "\x1b" not in printed and "\x9b" not in printed and "\x07" not in printed
    assert "\r" not in printed
    assert "hidden" in printed and "visible" in printed  # the text itself stays
