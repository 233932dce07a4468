"""``codeact-lab eval --peer smolagents``: smolagents' CodeAgent on the same tasks and model.

smolagents talks to the scripted OpenAI-compatible server, as it would to any endpoint,
and runs the task's tools (the same Python functions) in its own executor.
"""

from __future__ import annotations

import json

import pytest

from codeact_lab.agent.prompts import PROMPT_VERSION
from codeact_lab.evaluation.harness import INCORRECT

from .eval_player import builtin_player, is_smolagents, smolagents_player
from .test_eval_cli import rows, run_eval

pytest.importorskip("smolagents")


def test_the_peer_runs_every_task_beside_codeact(tmp_path, scripted):
    ours, theirs = builtin_player(), smolagents_player()
    scripted.default = lambda body: theirs(body) if is_smolagents(body) else ours(body)
    out = tmp_path / "run"
    proc = run_eval(
        tmp_path, "--suite", "builtin", "--mode", "code", "--peer", "smolagents",
        "--tasks", "^decoder/", "--limit", "2", "--max-turns", "6", "-o", str(out),
        base_url=scripted.base_url,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    # one table: codeact-lab's code mode in 2 turns, smolagents in 3 (after "incorrect")
    table = rows(proc.stdout)
    assert table[("overall", "code")][:5] == ["2", "2", "100.0%", "2.0", "0"]
    assert table[("overall", "smolagents")][:5] == ["2", "2", "100.0%", "3.0", "0"]
    assert table[("decoder", "smolagents")][:2] == ["2", "2"]
    assert "code vs smolagents: +0.0 points of success, -1.0 turns on average" in proc.stdout
    # and a row per task, side by side
    per_task = [line for line in proc.stdout.splitlines() if line.startswith("decoder/")]
    assert len(per_task) == 2
    assert all(line.count("solved") == 2 for line in per_task)
    assert f"prompt {PROMPT_VERSION}, smolagents/" in proc.stdout

    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    peer = {r["task"]: r for r in records if r["mode"] == "smolagents"}
    assert sorted(peer) == ["decoder/swap_then_shift", "decoder/three_steps"]
    record = peer["decoder/three_steps"]
    assert record["solved"] and record["system"] == "smolagents" and record["error"] is None
    assert record["answers"] == ["wrong", "meet at dawn"] and record["turns"] == 3
    assert record["total_tokens"] > 0 and record["usage_reported"] and record["wall_s"] > 0

    # its episode, in the record's own shape: the task, the "incorrect", every step
    episode = record["episode"]
    assert "code blobs" in episode["system"]
    users = [s["data"] for s in episode["steps"] if s["kind"] == "user"]
    assert users[1] == {"text": INCORRECT, "rejects_answer": True}
    actions = [s["data"] for s in episode["steps"] if s["kind"] == "action"]
    assert "shift_back(reverse(from_hex(" in actions[1]["code"]  # the task's tools ran
    assert "meet at dawn" in actions[1]["outputs"][0]["text"]
    solutions = [s["data"]["text"] for s in episode["steps"] if s["kind"] == "solution"]
    assert solutions == ["wrong", "meet at dawn"] and episode["state"] == "solved"

    # the same model, temperature and token limit as codeact-lab's requests
    peer_requests = [b for b in scripted.requests if is_smolagents(b)]
    assert len(peer_requests) == 6
    assert {(b["model"], b["temperature"], b["max_tokens"]) for b in scripted.requests} == {
        ("scripted", 0.0, 512)
    }
    # plain-text contents, which every OpenAI-compatible server takes (llama.cpp's server,
    # the embedded model's, refuses a system message made of content parts)
    assert all(isinstance(m["content"], str) for b in peer_requests for m in b["messages"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["modes"]["smolagents"]["overall"]["solved"] == 2
    assert summary["per_task"]["decoder/three_steps"]["smolagents"]["turns"] == 3
    assert (out / "plot.png").read_bytes()[:4] == b"\x89PNG"


def test_a_resumed_run_keeps_the_peers_finished_tasks(tmp_path, scripted):
    ours, theirs = builtin_player(), smolagents_player()
    scripted.default = lambda body: theirs(body) if is_smolagents(body) else ours(body)
    args = ["--mode", "code", "--peer", "smolagents", "--limit", "1", "--no-plot"]
    args += ["-o", str(tmp_path / "run")]
    first = run_eval(tmp_path, *args, base_url=scripted.base_url)
    assert first.returncode == 0, first.stderr
    asked = len(scripted.requests)
    again = run_eval(tmp_path, *args, base_url=scripted.base_url)
    assert again.returncode == 0, again.stderr
    assert len(scripted.requests) == asked  # nothing ran twice
    assert rows(again.stdout)[("overall", "smolagents")][:2] == ["1", "1"]


def test_the_peer_is_sent_the_same_sampling_fields(scripted):
    """The embedded model's repeat penalty reaches smolagents' requests too, or a setting
    other than the server's own would compare the two systems on different sampling."""
    from codeact_lab.evaluation.harness import EvalSettings
    from codeact_lab.evaluation.peer_smolagents import Endpoint, play
    from codeact_lab.evaluation.tasks import builtin_suite

    from .conftest import TEST_KEY

    theirs = smolagents_player()
    scripted.default = theirs
    task = next(t for t in builtin_suite() if t.id == "decoder/three_steps")
    settings = EvalSettings(max_turns=4, model="scripted", extra_body={"repeat_penalty": 1.0})
    run = play(task, settings, Endpoint(scripted.base_url, TEST_KEY))
    assert run.error is None and scripted.requests
    assert {b.get("repeat_penalty") for b in scripted.requests} == {1.0}
