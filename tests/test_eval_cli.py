"""``codeact-lab eval`` end to end: a real process, real kernels, the scripted model.

The scripted model plays a known game per mode (tests/eval_player.py), so the table,
the JSON Lines file, the summary and the plot must show known numbers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from codeact_lab.agent.prompts import PROMPT_VERSION
from codeact_lab.cli import main
from codeact_lab.evaluation.harness import INCORRECT, EvalSettings, run_task
from codeact_lab.evaluation.m3tooleval import (
    M3ToolEvalError,
    kernel_tools,
    m3tooleval_suite,
    tasks_dir,
)
from codeact_lab.evaluation.modes import MODES
from codeact_lab.evaluation.tasks import builtin_suite

from . import fake_m3tooleval
from .eval_player import builtin_player, make_player


def run_eval(tmp_path, *args, base_url=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    command = [sys.executable, "-m", "codeact_lab.cli", "eval", *args]
    if base_url:
        command += ["--base-url", base_url, "--model", "scripted"]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, cwd=tmp_path
    )


def rows(stdout: str) -> dict[tuple[str, str], list[str]]:
    """The table's rows by (domain, mode); a blank domain cell repeats the one above."""
    table, domain = {}, ""
    for line in stdout.splitlines():
        cells = line.split()
        if len(cells) == 9 and cells[0] != "domain":
            domain = cells[0]
            table[(domain, cells[1])] = cells[2:]
        elif len(cells) == 8 and cells[0] in ("code", "json", "text", "smolagents"):
            table[(domain, cells[0])] = cells[1:]
    return table


def test_builtin_suite_in_three_modes(tmp_path, scripted):
    scripted.default = builtin_player()
    out = tmp_path / "run"
    proc = run_eval(
        tmp_path,
        "--suite", "builtin", "--mode", "code,json,text", "--tasks", "^decoder/",
        "--limit", "2", "--jobs", "2", "-o", str(out),
        base_url=scripted.base_url,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr

    # the table: code solves in 2 turns, json in 3 (after an "incorrect"), text never
    table = rows(proc.stdout)
    assert table[("overall", "code")][:4] == ["2", "2", "100.0%", "2.0"]
    assert table[("overall", "json")][:4] == ["2", "2", "100.0%", "3.0"]
    assert table[("overall", "text")][:4] == ["2", "0", "0.0%", "10.0"]  # failure = the limit
    assert table[("decoder", "code")][:4] == ["2", "2", "100.0%", "2.0"]
    assert "code vs text: +100.0 points of success, -8.0 turns on average, " in proc.stdout
    assert table[("overall", "text")][4] == "2"  # both text episodes ended stuck
    assert "[6/6]" in proc.stderr  # progress, one line per pair off a terminal

    # every episode in the JSON Lines file
    records = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert sorted((r["task"], r["mode"]) for r in records) == sorted(
        (t, m)
        for t in ("decoder/three_steps", "decoder/swap_then_shift")
        for m in ("code", "json", "text")
    )
    by = {(r["task"], r["mode"]): r for r in records}
    code = by[("decoder/three_steps", "code")]
    assert code["solved"] and code["answers"] == ["meet at dawn"] and code["error"] is None
    assert code["total_tokens"] > 0 and code["wall_s"] > 0
    steps = code["episode"]["steps"]
    action = next(s for s in steps if s["kind"] == "action")
    assert action["data"]["status"] == "ok"  # the tools were in the kernel
    assert "Functions you can call from your code" in code["episode"]["system"]

    js = by[("decoder/three_steps", "json")]
    assert js["answers"] == ["wrong", "meet at dawn"] and js["turns"] == 3
    users = [s["data"]["text"] for s in js["episode"]["steps"] if s["kind"] == "user"]
    assert users[1] == INCORRECT
    call = next(s for s in js["episode"]["steps"] if s["kind"] == "action")["data"]
    assert call["code"] == "print(from_hex('717a64672077642077686870'))"

    text = by[("decoder/three_steps", "text")]
    # the same bad call again starts the task over (twice: turns 2 and 4, not run), then
    # a third time in a row ends it as stuck, not at the turn limit
    assert not text["solved"] and text["turns"] == 7 and text["state"] == "stuck"
    fresh = [s["data"]["turn"] for s in text["episode"]["steps"] if s["data"].get("fresh_start")]
    assert fresh == [2, 4]
    assert text["stuck"] and text["prompt_version"] == f"{PROMPT_VERSION}+eval-text"
    observation = next(s for s in text["episode"]["steps"] if s["kind"] == "observation")
    assert "ActionFormatError: there is no tool 'not_a_tool'" in observation["data"]["text"]

    # the model got temperature 0, 512 tokens and the </execute> stop in every mode, but for
    # the first reply after a second fresh start, sampled and seeded by its turn
    sampled = [(b["temperature"], b.get("seed")) for b in scripted.requests if b.get("seed")]
    assert sampled == [(0.7, 5), (0.7, 5)]  # the two text episodes
    assert {
        (b["temperature"], b["max_tokens"]) for b in scripted.requests if not b.get("seed")
    } == {(0.0, 512)}

    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] and summary["modes"]["json"]["overall"]["turns"] == 3.0
    png = (out / "plot.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_a_data_task_runs_in_a_folder_of_its_own(tmp_path, scripted):
    """The setup writes the task's CSV where its kernel runs (not where eval was started);
    the model's pandas code reads it there and its @name[value] answer is checked. The
    peer, which has no kernel folder, skips the task and says so."""
    scripted.default = builtin_player()
    out = tmp_path / "run"
    proc = run_eval(
        tmp_path,
        "--mode", "code", "--tasks", "^data/region_mean_order$", "--peer", "smolagents",
        "--no-plot", "-o", str(out),
        base_url=scripted.base_url,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "smolagents skips 1 task(s) whose files live in their kernel's folder" in proc.stderr
    [record] = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert record["task"] == "data/region_mean_order" and record["mode"] == "code"
    assert record["solved"] and record["turns"] == 2, record["answers"]
    assert record["answers"][0].startswith("@region[") and record["expected"]["region"]
    assert json.loads((out / "summary.json").read_text())["complete"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no orders.csv here


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path, scripted):
    play, hang = builtin_player(), {"on": True}

    def model(body):  # the second task's first reply never comes, until the resume
        if hang["on"] and "3 notebooks" in body["messages"][1]["content"]:
            return {"hang": 30}
        return play(body)

    scripted.default = model
    out = tmp_path / "run"
    args = ["--limit", "2", "--mode", "code", "--no-plot", "-o", str(out)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    command = [sys.executable, "-m", "codeact_lab.cli", "eval", *args]
    command += ["--base-url", scripted.base_url, "--model", "scripted"]
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while len(scripted.requests) < 3:  # the first task done, the second one waiting
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.1)
    first.send_signal(signal.SIGINT)
    _, stderr = first.communicate(timeout=60)
    assert first.returncode == 4, stderr
    assert "interrupted with 1 pair(s) to go; run the same command to resume" in stderr
    with open(out / "episodes.jsonl", "a") as f:
        f.write('{"task": "shop/basket_total", "mode": "co')  # as if killed mid-write

    hang["on"] = False
    second = run_eval(tmp_path, *args, base_url=scripted.base_url)
    assert second.returncode == 0, second.stderr
    assert "resuming: 1 of 2 already done" in second.stderr
    assert len(scripted.requests) == 5  # 2 + the hung one + 2: the first task did not run again
    records = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert [r["task"] for r in records] == ["decoder/three_steps", "shop/basket_total"]
    assert rows(second.stdout)[("overall", "code")][:2] == ["2", "2"]

    other = run_eval(tmp_path, "--limit", "2", *args, "--model", "another")
    assert other.returncode == 2 and "another model" in other.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tasks", "^nothing$"], "no task matches"),
        (["--mode", "yaml"], "choose from code, json, text"),
        (["--suite", "m3tooleval"], "--m3tooleval PATH"),
        (["--m3tooleval", "/nonexistent"], "not a checkout of the CodeAct repository"),
    ],
)
def test_usage_errors_exit_2_with_a_reason(args, message, capsys):
    assert main(["eval", *args]) == 2
    assert message in capsys.readouterr().err


# ---- M3ToolEval, from a (fake) checkout ----
@pytest.fixture
def checkout(tmp_path):
    return fake_m3tooleval.make_checkout(tmp_path / "code-act")


def test_m3tooleval_tasks_load_from_the_checkout(checkout):
    suite = m3tooleval_suite(str(checkout))
    assert [t.id for t in suite] == [
        "toy_decoder/reverse_twice_length",
        "toy_decoder/reversed_word",
        "toy_browser/price_of_wand",
    ]
    first = suite[0]
    assert first.domain == "toy_decoder" and first.expected == 8
    assert first.tools[0].signature == "reverse_string(string: str) -> str"
    assert first.tools[0].description == "Reverses a string. Arguments: string (str)"
    assert first.check("8") and first.check(" 8 ") and not first.check("7")  # its own checker
    assert suite[2].tool_names == {"click_url", "current_page"}
    # the path may name the checkout, its m3tooleval folder or the tasks package
    m3 = checkout / "scripts" / "eval" / "m3tooleval"
    assert tasks_dir(str(m3)) == tasks_dir(str(m3 / "tasks")) == str(m3 / "tasks")
    with pytest.raises(M3ToolEvalError, match="not a checkout"):
        tasks_dir(str(checkout / "scripts"))


def test_m3tooleval_kernel_tools_are_the_checkouts_functions(checkout):
    tools = kernel_tools(str(checkout), "toy_browser/price_of_wand")
    assert tools["click_url"]("/wand") == "Wand: 12.5 dollars"
    assert tools["current_page"]() == "/wand"
    assert kernel_tools(str(checkout), "toy_decoder/reversed_word")["reverse_string"]("ab") == "ba"
    with pytest.raises(M3ToolEvalError):
        kernel_tools(str(checkout), "toy_decoder/nope")


def test_m3tooleval_runs_through_the_harness(tmp_path, scripted, checkout):
    scripted.default = make_player(
        fake_m3tooleval.ANSWERS,
        fake_m3tooleval.CODE.__getitem__,
        fake_m3tooleval.FIRST_CALL.__getitem__,
    )
    out = tmp_path / "m3"
    proc = run_eval(
        tmp_path, "--m3tooleval", str(checkout), "--mode", "code,json", "--jobs", "2",
        "--no-plot", "-o", str(out), base_url=scripted.base_url,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("m3tooleval suite · model scripted · 3 tasks")
    table = rows(proc.stdout)
    assert table[("overall", "code")][:4] == ["3", "3", "100.0%", "2.0"]
    assert table[("overall", "json")][:4] == ["3", "3", "100.0%", "3.0"]
    assert table[("toy_browser", "code")][:2] == ["1", "1"]
    records = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    wand = next(
        r for r in records if r["task"] == "toy_browser/price_of_wand" and r["mode"] == "json"
    )
    observation = next(s for s in wand["episode"]["steps"] if s["kind"] == "observation")
    assert (
        observation["data"]["text"] == "Wand: 12.5 dollars"
    )  # the checkout's tool ran in the kernel


# ---- the embedded local model, when it is installed ----
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_small_slice_with_the_embedded_local_model(tmp_path, monkeypatch):
    """One task, code and JSON, 2 turns each: the whole path with a real (small) model."""
    from codeact_lab.config import CodeAct
    from codeact_lab.local_model import resolve_model

    for name in [n for n in os.environ if n.startswith(("OPENAI_", "CODEACT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))  # no endpoint in config
    model = resolve_model(CodeAct())
    if not model.local:
        pytest.skip(f"the embedded local model is not installed: {model.note}")
    out = tmp_path / "local"
    proc = run_eval(
        tmp_path, "--mode", "code,json", "--tasks", "^decoder/three_steps$",
        "--max-turns", "2", "--max-tokens", "256", "-o", str(out), timeout=580,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Local model:" in proc.stderr  # the CLI says which model it runs
    records = [json.loads(x) for x in (out / "episodes.jsonl").read_text().splitlines()]
    assert sorted(r["mode"] for r in records) == ["code", "json"]
    for r in records:
        assert r["error"] is None and 1 <= r["turns"] <= 2, r["reason"]
        assert r["episode"]["steps"][1]["kind"] == "assistant"  # the model answered
    assert rows(proc.stdout)[("overall", "code")][0] == "1"


async def test_a_task_out_of_turns_after_a_wrong_answer_counts_all_its_turns(scripted, make_llm):
    """After an "incorrect" the loop runs on with the turns left; the record's reason is
    the task's limit, not what was left (it said "no solution after 1 turns" at turn 10)."""
    scripted.script(
        {"text": "<execute>\nprint(len('abc'))\n</execute>"},
        {"text": "<solution>wrong</solution>"},
        {"text": "<execute>\nprint(len('abcd'))\n</execute>"},
    )
    task = next(t for t in builtin_suite() if t.id == "decoder/three_steps")
    record = await run_task(task, MODES["code"], make_llm(), EvalSettings(max_turns=3))
    assert record["answers"] == ["wrong"] and not record["solved"]
    assert record["turns"] == 3 and record["state"] == "max_turns"
    assert record["reason"] == "no right answer after 3 turns"
