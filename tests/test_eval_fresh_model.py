"""``codeact-lab eval`` on the embedded model gives every episode a server that has seen
nothing yet: llama.cpp reuses the previous request's tokens, and at temperature 0 a task's
reply then depended on the task run before it (measured: genome/motif_total solved alone,
lost after genome/highest_gc). The real launcher runs ``tests/fake_llama_server.py``."""

from __future__ import annotations

import json

import pytest

from codeact_lab.cli import main
from codeact_lab.config import CodeAct
from codeact_lab.evaluation import command
from codeact_lab.local_model import resolve as resolve_mod
from codeact_lab.local_model.resolve import resolve_model
from codeact_lab.local_model.server import LocalModelServer

from .test_local_model import FAKE_SERVER

TASKS = "^decoder/(three_steps|swap_then_shift)$"


@pytest.fixture
def embedded(tmp_path, monkeypatch):
    """The eval's model is the local one, served by the fake llama server; the pids of the
    server processes it started, in order."""
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CODEACT_MODEL", "CODEACT_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: [])
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 100)
    settings = CodeAct(local_model_path=str(gguf))

    def local(_args):
        model = resolve_model(settings)
        assert model.local and model.server is not None
        model.server.target, model.server.log_dir = FAKE_SERVER, str(tmp_path)
        return settings, model

    monkeypatch.setattr(command, "_model", local)
    pids: list[int] = []
    spawn = LocalModelServer._spawn

    def counted(self, *args, **kwargs):
        proc = spawn(self, *args, **kwargs)
        pids.append(proc.pid)
        return proc

    monkeypatch.setattr(LocalModelServer, "_spawn", counted)
    return pids


def episodes(out) -> list[dict]:
    return [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]


def test_each_episode_gets_a_fresh_embedded_model(tmp_path, embedded, capsys):
    out = tmp_path / "fresh"
    code = main(["eval", "--mode", "code,json", "--tasks", TASKS, "--no-plot", "-o", str(out)])
    assert code == 0
    # the local model's own sampling field is in the run's figures
    assert "temperature 0 · repeat penalty 1.1 · prompt" in capsys.readouterr().out
    assert json.loads((out / "summary.json").read_text())["sampling"] == {"repeat_penalty": 1.1}
    records = episodes(out)
    assert len(records) == 4 and all(r["turns"] >= 2 for r in records)  # the model answered
    assert all(r["error"] is None for r in records), [r["error"] for r in records]
    assert len(embedded) == 4 and len(set(embedded)) == 4  # a new server for each episode


def test_a_shared_cache_keeps_one_server(tmp_path, embedded):
    out = tmp_path / "shared"
    args = ["eval", "--mode", "code", "--tasks", TASKS, "--no-plot", "-o", str(out)]
    assert main([*args, "--shared-model-cache"]) == 0
    assert len(episodes(out)) == 2 and len(embedded) == 1
