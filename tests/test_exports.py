"""Episodes out (notebooks, chat training data) and back in (resume, import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

from codeact_lab.agent import Episode, Policy, run
from codeact_lab.agent.restore import events_from_episode
from codeact_lab.chatml import episode_to_chatml
from codeact_lab.export import FAILED_NOTE, episode_from_notebook, episode_to_notebook
from codeact_lab.server.store import EpisodeStore

from .conftest import TEST_KEY


async def run_scripted(scripted, make_llm, executor, *replies, task="analyse"):
    scripted.script(*({"text": r} for r in replies))
    episode = Episode(task=task)
    async for _ in run(episode, make_llm(), executor, Policy()):
        pass
    return episode


async def test_chatml_is_exactly_what_the_model_was_sent(scripted, make_llm, executor):
    episode = await run_scripted(
        scripted,
        make_llm,
        executor,
        "Let me look.\n<execute>\nrows = [2, 3]\nprint(rows)\n</execute>",
        "<execute>\nprint(sum(rows) ** 2)\n</execute>",
        "It is <solution>25</solution>",
    )
    line = episode_to_chatml(episode)
    last_request = scripted.requests[-1]["messages"]
    final_reply = {"role": "assistant", "content": "It is <solution>25</solution>"}
    assert line["messages"] == [*last_request, final_reply]
    roles = [m["role"] for m in line["messages"]]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user", "assistant"]
    assert line["messages"][0]["content"] == episode.system and "<execute>" in episode.system
    assert line["messages"][2]["content"].endswith("</execute>")  # the stop tag put back
    assert line["messages"][3]["content"] == "Observation:\n[2, 3]"
    assert line["metadata"]["final_state"] == "solved" and line["metadata"]["turns"] == 3


async def test_no_export_format_leaks_the_key_or_the_home_folder(
    scripted, make_llm, executor, tmp_path
):
    episode = await run_scripted(
        scripted,
        make_llm,
        executor,
        f"<execute>\nprint('{TEST_KEY}')\nprint('/home/alice/data/sales.csv')\n</execute>",
        "<solution>done</solution>",
    )
    secrets = [TEST_KEY]
    full = json.dumps(episode_to_notebook(episode, secrets=secrets))
    code_only = json.dumps(episode_to_notebook(episode, code_only=True, secrets=secrets))
    chatml = json.dumps(episode_to_chatml(episode, secrets=secrets))
    for text in (full, code_only, chatml):
        assert TEST_KEY not in text and "[redacted]" in text
    assert "~/data/sales.csv" in chatml and "/home/alice" not in chatml
    # Notebooks keep paths as they are: the code may need them to re-run.
    assert "/home/alice/data/sales.csv" in full


async def test_notebook_round_trip_rebuilds_the_episode(scripted, make_llm, executor):
    episode = await run_scripted(
        scripted,
        make_llm,
        executor,
        "<execute>\nimport math\nprint(math.pi)\n</execute>",
        "<execute>\nmath.tau / 0\n</execute>",
        "<solution>pi</solution>",
    )
    nb = nbformat.reads(nbformat.writes(episode_to_notebook(episode)), as_version=4)
    back = episode_from_notebook(nb)
    assert back.to_dict() == episode.to_dict()
    rebuilt = Episode.replay(events_from_episode(episode), id=episode.id, created=episode.created)
    assert rebuilt.steps == episode.steps and rebuilt.state == episode.state


def test_a_code_only_notebook_cannot_be_resumed():
    nb = nbformat.v4.new_notebook()
    try:
        episode_from_notebook(nb)
    except ValueError as err:
        assert "holds no codeact-lab episode" in str(err)
    else:
        raise AssertionError("expected a ValueError")


def cli(*args, cwd):
    env = dict(os.environ, OPENAI_API_KEY=TEST_KEY)
    return subprocess.run(
        [sys.executable, "-m", "codeact_lab.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_resume_restores_the_kernel_and_continues(tmp_path, scripted):
    scripted.script(
        {"text": "<execute>\nprices = {'a': 3, 'b': 4}\n</execute>"},
        {"text": "<solution>loaded</solution>"},
        {"text": "<execute>\nprint(sum(prices.values()))\n</execute>"},
        {"text": "<solution>7</solution>"},
    )
    path = tmp_path / "ep.ipynb"
    first = cli(
        "run", "load prices", "--base-url", scripted.base_url, "-o", str(path), cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    second = cli(
        "run", "add them up", "--resume", str(path), "--base-url", scripted.base_url, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    assert "kernel state restored: re-ran 1 action(s)" in second.stdout
    nb = nbformat.read(path, as_version=4)
    sources = [c.source for c in nb.cells]
    assert "**Task:** load prices" in sources and "**Follow-up:** add them up" in sources
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[-1].outputs[0]["text"] == "7\n"
    # The model saw the whole history on the follow-up.
    assert [m["role"] for m in scripted.requests[2]["messages"]][:4] == [
        "system",
        "user",
        "assistant",
        "user",
    ]


async def test_export_command_reads_the_servers_store(scripted, make_llm, executor, tmp_path):
    db = tmp_path / "episodes.sqlite"
    store = EpisodeStore(str(db))
    solved = await run_scripted(scripted, make_llm, executor, "<solution>1</solution>", task="a")
    unsolved = await run_scripted(scripted, make_llm, executor, "Which one?", task="b")
    for episode in (solved, unsolved):
        store.create(episode)
        for event in events_from_episode(episode):
            store.append(episode, event)
    store.close()

    out = tmp_path / "one.ipynb"
    result = cli("export", solved.id[:8], "--db", str(db), "-o", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    nbformat.validate(nbformat.read(out, as_version=4))

    data = tmp_path / "train.jsonl"
    result = cli(
        "export", "--format", "chatml", "--solved", "--db", str(db), "-o", str(data), cwd=tmp_path
    )
    assert result.returncode == 0 and "wrote 1 episode(s)" in result.stderr
    lines = [json.loads(line) for line in data.read_text().splitlines()]
    assert [line["metadata"]["episode"] for line in lines] == [solved.id]

    missing = cli("export", "ffffffff", "--db", str(db), cwd=tmp_path)
    assert missing.returncode == 2 and "no episode 'ffffffff'" in missing.stderr


def code_outputs(nb):
    return [
        [{k: v for k, v in o.items() if k != "execution_count"} for o in c.outputs]
        for c in nb.cells
        if c.cell_type == "code"
    ]


async def test_export_validates_and_reruns_with_the_same_outputs(scripted, make_llm, executor):
    ep = await run_scripted(
        scripted,
        make_llm,
        executor,
        "Load them.\n<execute>\nnumbers = [4, 8, 15, 16, 23, 42]\nprint(len(numbers))\n</execute>",
        "Oops, a typo.\n<execute>\nprint(sum(numbrs))\n</execute>",
        "<execute>\ntotal = sum(numbers)\ntotal\n</execute>",
        "The total is <solution>108</solution>",
    )
    nb = episode_to_notebook(ep)
    nbformat.validate(nb)
    failed = [
        c
        for c in nb.cells
        if c.cell_type == "code" and "raises-exception" in c.metadata.get("tags", [])
    ]
    assert len(failed) == 1 and "numbrs" in failed[0].source
    assert nb.cells[0].source == "**Task:** analyse"
    assert [c.source for c in nb.cells if c.cell_type == "markdown"][1:] == [
        FAILED_NOTE,
        "Load them.",
        "Oops, a typo.",
        "The total is",
        "**Answer:** 108",
    ]

    rerun = nbformat.from_dict(nb)
    await NotebookClient(rerun, timeout=60, kernel_name="python3").async_execute()
    assert code_outputs(rerun) == code_outputs(nb)
    assert [c.execution_count for c in rerun.cells if c.cell_type == "code"] == [1, 2, 3]


async def test_code_only_export_keeps_just_the_actions(scripted, make_llm, executor):
    ep = await run_scripted(
        scripted, make_llm, executor, "<execute>x = 2</execute>", "<solution>2</solution>"
    )
    nb = episode_to_notebook(ep, code_only=True)
    assert [c.cell_type for c in nb.cells] == ["code"]
    assert nb.metadata["codeact"]["final_state"] == "solved"
    assert "api_key" not in str(nb.metadata)
