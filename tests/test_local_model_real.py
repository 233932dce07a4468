"""The real embedded model, end to end: Qwen2.5-Coder-1.5B on this machine's CPU.

* ``codeact-lab run`` with no endpoint and no key starts the local model itself and
  solves small multi-step tasks in a real kernel at temperature 0: a loop, an error
  it makes and recovers from, a helper function given in the task, a DataFrame;
* the Jupyter server extension reports the local model on ``GET /codeact/config`` and
  solves "what is the sum of the squares of 1 to 10?" through the HTTP API.

They run in ``make test`` (and so in ``.ci/run``), which installs the model; without
it they are skipped, saying so. About 10 tok/s on 2 cores: each task takes 20-90 s.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import warnings
from urllib.parse import urlsplit

import nbformat
import pytest

from benchmarks.local_tasks import MAX_TOKENS, TASKS
from codeact_lab.local_model import weights
from codeact_lab.local_model.resolve import missing_runtime
from codeact_lab.local_model.weights import DEFAULT_MODEL

MODEL = weights.MODELS[DEFAULT_MODEL]
MODELS_DIR = weights.models_dir()  # the real cache: pytest-jupyter moves the data dir later
_missing = missing_runtime()
_reason = (
    f"the local model is not installed ({', '.join(_missing)} missing)"
    if _missing
    else f"the weights of {MODEL.title} are not installed"
    if not weights.available(DEFAULT_MODEL, cache_dir=MODELS_DIR)
    else ""
)
pytestmark = [
    pytest.mark.local_model,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(
        bool(_reason), reason=f"{_reason}: run scripts/install-local-model.sh (make test does)"
    ),
]
CLI_TASKS = ["collatz", "append-row", "helper", "dataframe"]


def no_endpoint_env(tmp_path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEACT_"))}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")  # no user config names an endpoint
    return env


def port_closed(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((parts.hostname or "", parts.port or 80)) != 0


@pytest.mark.parametrize("name", CLI_TASKS)
def test_the_cli_solves_a_task_with_the_local_model(name, tmp_path):
    task = next(t for t in TASKS if t.name == name)
    notebook, events = tmp_path / "episode.ipynb", tmp_path / "events.jsonl"
    args = ["--max-tokens", str(MAX_TOKENS), "--max-turns", "6", "--temperature", "0"]
    started = time.monotonic()
    args += ["-o", str(notebook), "--events", str(events)]
    proc = subprocess.run(
        [sys.executable, "-m", "codeact_lab.cli", "run", task.prompt, *args],
        env=no_endpoint_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=800,
        cwd=tmp_path,
    )
    took = time.monotonic() - started
    transcript = f"{proc.stdout}\n{proc.stderr}"
    assert "Local model: Qwen2.5-Coder-1.5B" in proc.stderr, transcript
    assert proc.returncode == 0, transcript
    nb = nbformat.read(notebook, as_version=4)
    meta = nb.metadata["codeact"]
    assert meta["final_state"] == "solved" and meta["model"] == DEFAULT_MODEL
    assert meta["endpoint"].startswith("http://127.0.0.1:")
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    answer = next(e["data"]["step"]["data"]["text"] for e in lines if e["type"] == "solution")
    assert task.check(answer), f"wrong answer {answer!r}\n{transcript}"
    assert port_closed(meta["endpoint"]), "the local model server outlived the CLI"
    failed = [
        e
        for e in lines
        if e["type"] == "action_finished" and e["data"]["status"] in ("error", "timeout")
    ]
    if task.kind == "error recovery" and not failed:
        warnings.warn(f"{name}: the model made no error; no recovery was needed", stacklevel=1)
    print(f"{name}: solved in {meta['turns']} turns, {took:.0f} s, {len(failed)} failed action(s)")


# ---- the server extension, over HTTP ----
@pytest.fixture
def jp_server_config(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("OPENAI_") or name.startswith("CODEACT_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(weights, "models_dir", lambda: MODELS_DIR)
    return {
        "ServerApp": {"jpserver_extensions": {"codeact_lab": True}},
        "CodeActExtension": {"db_path": str(tmp_path / "episodes.sqlite")},
        "CodeAct": {"max_tokens": MAX_TOKENS, "max_turns": 6},
    }


async def episode_over_http(jp_fetch, jp_serverapp, path: str, task: str) -> dict:
    """Start an episode on ``path`` in a new kernel through the HTTP API; its record once it
    has ended."""
    kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
    body = {"task": task, "notebook_path": path, "kernel_id": kernel_id}
    response = await jp_fetch("codeact", "episodes", method="POST", body=json.dumps(body))
    episode_id = json.loads(response.body)["id"]
    deadline = time.monotonic() + 600
    while True:
        record = json.loads((await jp_fetch("codeact", "episodes", episode_id)).body)
        if record["state"] is not None:
            return record
        assert time.monotonic() < deadline, "the episode did not end"
        await asyncio.sleep(1)


async def test_the_server_solves_a_task_with_the_local_model_over_http(
    jp_fetch, jp_serverapp, jp_root_dir
):
    config = json.loads((await jp_fetch("codeact", "config")).body)
    assert config["local"] is True and config["model"] == DEFAULT_MODEL
    assert "small and slow" in config["note"] and "Qwen2.5-Coder-1.5B" in config["note"]
    assert config["endpoint"].startswith("http://127.0.0.1:")

    nbformat.write(nbformat.v4.new_notebook(), jp_root_dir / "squares.ipynb")
    record = await episode_over_http(
        jp_fetch, jp_serverapp, "squares.ipynb", "what is the sum of the squares of 1 to 10?"
    )
    assert record["state"] == "solved", record["reason"]
    solution = next(s for s in record["steps"] if s["kind"] == "solution")
    assert "385" in solution["data"]["text"]
    assert record["settings"]["model"] == DEFAULT_MODEL
    manager = jp_serverapp.web_app.settings["codeact_manager"]
    assert manager.model.server.state == "ready"
    await manager.shutdown()  # what stopping Jupyter does: the model server goes too
    assert manager.model.server.state == "stopped" and port_closed(config["endpoint"])


# ---- tasks only the notebook can answer (the model is shown the notebook) ----
def sales_notebook() -> nbformat.NotebookNode:
    cells = [
        nbformat.v4.new_markdown_cell("# Quarterly sales", id="title"),
        nbformat.v4.new_code_cell(
            "import pandas as pd\n"
            "sales = pd.DataFrame({'region': ['north', 'south'], 'price': [120.0, 80.0]})",
            id="load",
            execution_count=1,
        ),
        # Written, never run: the kernel does not know it, only the notebook does.
        nbformat.v4.new_code_cell("threshold = 0.75", id="threshold"),
        nbformat.v4.new_code_cell(
            "sales['revenue'].sum()",
            id="fails",
            execution_count=2,
            outputs=[
                nbformat.v4.new_output(
                    "error",
                    ename="KeyError",
                    evalue="'revenue'",
                    traceback=[
                        "KeyError                                  Traceback (most recent call last)",
                        "Cell In[2], line 1",
                        "----> 1 sales['revenue'].sum()",
                        "KeyError: 'revenue'",
                    ],
                )
            ],
        ),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nbformat.validate(nb)
    return nb


async def solve_on_notebook(jp_fetch, jp_serverapp, jp_root_dir, task: str) -> str:
    nbformat.write(sales_notebook(), jp_root_dir / "sales.ipynb")
    record = await episode_over_http(jp_fetch, jp_serverapp, "sales.ipynb", task)
    await jp_serverapp.web_app.settings["codeact_manager"].shutdown()
    assert record["state"] == "solved", (record["reason"], record["steps"])
    return next(s for s in record["steps"] if s["kind"] == "solution")["data"]["text"]


async def test_the_local_model_reads_a_value_written_in_the_notebook_but_never_run(
    jp_fetch, jp_serverapp, jp_root_dir
):
    answer = await solve_on_notebook(
        jp_fetch, jp_serverapp, jp_root_dir, "Which threshold did I set in my notebook?"
    )
    assert "0.75" in answer


async def test_the_local_model_says_why_the_users_last_cell_failed(
    jp_fetch, jp_serverapp, jp_root_dir
):
    answer = await solve_on_notebook(
        jp_fetch, jp_serverapp, jp_root_dir, "Why did my last cell fail?"
    )
    assert "revenue" in answer.lower(), answer


def test_the_prompt_estimate_never_counts_low_against_the_models_tokenizer():
    """The loop condenses by the estimate: a prompt it says fits must fit the real model."""
    from llama_cpp import Llama

    from benchmarks.token_estimate import samples
    from codeact_lab.agent.tokens import estimate_tokens

    path = weights.resolve_weights(DEFAULT_MODEL, cache_dir=MODELS_DIR)
    llama = Llama(model_path=path, vocab_only=True, verbose=False)
    for kind, text in samples().items():
        for start in range(0, len(text), 4000):
            piece = text[start : start + 4000]
            real = len(llama.tokenize(piece.encode(), add_bos=False, special=False))
            assert estimate_tokens(piece) >= real, kind


# ---- answer discipline, with the real model (the loop's rules, whatever it answers) ----
def eval_records(tmp_path, tasks: str, turns: int = 6) -> list[dict]:
    """``codeact-lab eval`` on the local model (no endpoint), code mode; its records."""
    out = tmp_path / "eval"
    args = ["--suite", "builtin", "--mode", "code", "--tasks", tasks, "--no-plot", "-o", str(out)]
    args += ["--max-turns", str(turns), "--max-tokens", str(MAX_TOKENS)]
    proc = subprocess.run(
        [sys.executable, "-m", "codeact_lab.cli", "eval", *args],
        env=no_endpoint_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=850,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    return [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]


def refusals(record: dict, why: str) -> list[dict]:
    return [
        s
        for s in record["episode"]["steps"]
        if s["kind"] == "observation" and (s["data"].get("refused_answer") or {}).get("why") == why
    ]


def test_the_local_model_never_gets_the_same_wrong_answer_accepted_twice(tmp_path):
    """Told "incorrect", the model often sends the same answer again: the loop starts the
    task over without it in view (or, with no fresh start left, points it out: run code to
    check it) and ends the task as stuck at the third, never takes it again."""
    from codeact_lab.agent.repetition import same_answer

    # Tasks the 1.5B model gets wrong at first (decoder/three_steps: one answer ten times).
    records = eval_records(tmp_path, "^(decoder/three_steps|decoder/swap_then_shift)$")
    assert len(records) == 2
    for record in records:
        answers = record["answers"]
        for i, answer in enumerate(answers):
            assert not any(same_answer(answer, later) for later in answers[i + 1 :]), answers
        for step in refusals(record, "repeated"):
            data = step["data"]
            assert data.get("fresh_start") or "run code to check it" in data["text"], data
        if record["stuck"]:
            assert record["state"] == "stuck" and record["reason"], record["reason"]
        print(
            f"{record['task']}: {record['state']} in {record['turns']} turns, answers {answers}, "
            f"{len(refusals(record, 'repeated'))} repeat(s) pointed out"
        )


def test_the_local_model_is_reminded_once_of_the_answers_stated_form(tmp_path):
    """A data question states its answer's form (@name[value]): an answer that drops it gets
    one reminder, and the answer the episode ends with follows it or came after that."""
    from codeact_lab.agent.answer_review import answer_form, follows_form

    (record,) = eval_records(tmp_path, "^data/region_mean_order$")
    steps = record["episode"]["steps"]
    task = steps[0]["data"]["text"]
    names = answer_form(task)
    assert names == ["region", "mean_order_value"] and "single number" not in task
    reminders = refusals(record, "format")
    assert len(reminders) <= 1
    first_reminder = steps.index(reminders[0]) if reminders else len(steps)
    for index, step in enumerate(steps):
        if step["kind"] == "solution" and not follows_form(step["data"]["text"], names):
            assert first_reminder < index, record["answers"]  # taken as it is only after it
    for step in reminders:
        assert "@region[...] @mean_order_value[...]" in step["data"]["text"]
    print(
        f"{record['task']}: {record['state']}, answers {record['answers']}, solved {record['solved']}"
    )
