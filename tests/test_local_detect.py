"""Model servers the user already runs: found at the usual ports, reported, never used unasked.

The scripted model server stands in for Ollama, LM Studio, vLLM and llama.cpp: it
answers ``GET /v1/models`` (and Ollama's ``/api/tags``) as they do.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest

from codeact_lab.agent.llm import NO_KEY
from codeact_lab.config import CodeAct
from codeact_lab.local_model import resolve as resolve_mod
from codeact_lab.local_model.detect import (
    DEFAULT_URLS,
    DetectedServer,
    LocalServerScout,
    detect,
    port_of,
    server_root,
)

from .conftest import TEST_KEY
from .scripted_model import ScriptedModel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served():
    """Start scripted servers that list models; every one is stopped after the test."""
    started: list[ScriptedModel] = []

    def serve(port: int = 0, **kwargs) -> ScriptedModel:
        model = ScriptedModel(**kwargs).start(port)
        started.append(model)
        return model

    yield serve
    for model in started:
        model.stop()


def root_of(model: ScriptedModel) -> str:
    return f"http://127.0.0.1:{model.port}"


def test_urls_are_read_with_or_without_v1():
    assert server_root("http://127.0.0.1:11434/v1/") == "http://127.0.0.1:11434"
    assert server_root(" http://127.0.0.1:1234 ") == "http://127.0.0.1:1234"
    assert port_of("http://127.0.0.1:8080") == 8080 and port_of("http://localhost") == 80
    assert CodeAct().detect_local_servers == list(DEFAULT_URLS)
    assert [port_of(u) for u in DEFAULT_URLS] == [11434, 1234, 8000, 8080]


async def test_a_server_at_a_configured_url_is_found_with_its_models(served):
    vllm = served(models=["Qwen/Qwen2.5-Coder-7B-Instruct"], owned_by="vllm")
    studio = served(
        models=["qwen2.5-coder-7b-instruct", "llama-3.2-3b"], owned_by="organization_owner"
    )
    unknown = served(models=["mystery"], owned_by="someone")
    found = await detect([f"{root_of(vllm)}/v1", root_of(studio), root_of(unknown)])
    assert found == [
        DetectedServer("vLLM", f"{root_of(vllm)}/v1", ("Qwen/Qwen2.5-Coder-7B-Instruct",)),
        DetectedServer(
            "LM Studio", f"{root_of(studio)}/v1", ("qwen2.5-coder-7b-instruct", "llama-3.2-3b")
        ),
        DetectedServer("OpenAI-compatible server", f"{root_of(unknown)}/v1", ("mystery",)),
    ]
    assert found[0].to_dict() == {
        "name": "vLLM",
        "base_url": f"{root_of(vllm)}/v1",
        "models": ["Qwen/Qwen2.5-Coder-7B-Instruct"],
    }
    # a probe carries no credential of any kind
    for model in (vllm, studio, unknown):
        assert model.listing_headers and model.requests == []  # it asked, it did not chat
        for headers in model.listing_headers:
            assert not {"Authorization", "Openai-Organization"} & set(headers)
            assert TEST_KEY not in json.dumps(headers)


async def test_ollama_is_found_by_its_own_listing_too(served):
    new = served(models=["qwen2.5-coder:7b"], owned_by="library")
    old = served(models=[], tags=["qwen2.5-coder:7b", "llama3.2:3b"])  # no /v1/models
    found = await detect([root_of(new), root_of(old)])
    assert [(s.name, s.models) for s in found] == [
        ("Ollama", ("qwen2.5-coder:7b",)),
        ("Ollama", ("qwen2.5-coder:7b", "llama3.2:3b")),
    ]
    assert found[1].base_url == f"{root_of(old)}/v1"  # its OpenAI-compatible side


async def test_nothing_is_found_where_nothing_usable_listens(served):
    empty = served(models=[])  # answers, but lists no model
    quiet = free_port()
    started = time.monotonic()
    assert await detect([root_of(empty), f"http://127.0.0.1:{quiet}", "", "not a url"]) == []
    assert time.monotonic() - started < 3
    assert await detect([]) == []


async def test_a_server_that_never_answers_costs_only_the_timeout():
    with socket.socket() as listener:  # accepts connections, never replies
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        assert await detect([url], timeout=0.3) == []
        assert time.monotonic() - started < 2


async def test_our_own_server_is_not_offered(served):
    ours = served(models=["qwen2.5-coder-1.5b"], owned_by="me")
    assert await detect([root_of(ours)], exclude_ports=[ours.port]) == []
    assert [s.name for s in await detect([root_of(ours)])] == ["llama.cpp"]


async def test_a_server_on_a_listed_port_is_found_when_the_port_is_free(served):
    for url in DEFAULT_URLS:
        try:
            model = served(port_of(url), models=["qwen2.5-coder:7b"], owned_by="library")
            break
        except OSError:  # a real server (or anything) holds it
            continue
    else:
        pytest.skip("every default port is taken on this machine")
    found = await detect(DEFAULT_URLS)
    assert DetectedServer("Ollama", f"{url}/v1", ("qwen2.5-coder:7b",)) in found
    assert model.listing_headers


async def test_the_scout_looks_in_the_background_and_again_when_stale(served):
    port = free_port()
    scout = LocalServerScout([f"http://127.0.0.1:{port}"], every=0.0)
    assert scout.enabled and scout.public() == []
    scout.look_soon()
    await scout._task
    assert scout.found == []
    served(port, models=["qwen2.5-coder:7b"], owned_by="library")  # Ollama starts later
    scout.look_soon()
    scout.look_soon()  # one look at a time
    await scout._task
    assert [s["models"] for s in scout.public()] == [["qwen2.5-coder:7b"]]
    await scout.aclose()
    assert not LocalServerScout([]).enabled and not LocalServerScout([" "]).enabled


# ---- the Jupyter server: GET /codeact/config ----
@pytest.fixture
def no_endpoint(monkeypatch):
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CODEACT_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(resolve_mod, "missing_runtime", lambda: ["llama_cpp"])  # no model


@pytest.fixture
def ollama():
    model = ScriptedModel(models=["qwen2.5-coder:7b"], owned_by="library").start()
    yield model
    model.stop()


@pytest.fixture
def codeact_config(ollama):
    return {"detect_local_servers": [root_of(ollama)]}


@pytest.fixture
def jp_server_config(codeact_config, no_endpoint, tmp_path):
    return {
        "ServerApp": {"jpserver_extensions": {"codeact_lab": True}},
        "CodeActExtension": {"db_path": str(tmp_path / "episodes.sqlite")},
        "CodeAct": codeact_config,
    }


async def config_when_found(jp_fetch) -> dict:
    deadline = time.monotonic() + 10
    while True:
        config = json.loads((await jp_fetch("codeact", "config")).body)
        if config.get("detected") or time.monotonic() > deadline:
            return config
        await asyncio.sleep(0.1)


async def test_the_config_reports_a_server_found_and_the_model_stays(jp_fetch, ollama):
    config = await config_when_found(jp_fetch)
    assert config["detected"] == [
        {"name": "Ollama", "base_url": ollama.base_url, "models": ["qwen2.5-coder:7b"]}
    ]
    assert config["endpoint"] == "" and config["local"] is False  # nothing was switched
    assert ollama.requests == []


@pytest.mark.parametrize("codeact_config", [{"detect_local_servers": []}])
async def test_no_detection_when_turned_off(jp_fetch, codeact_config):
    assert "detected" not in json.loads((await jp_fetch("codeact", "config")).body)


@pytest.mark.parametrize(
    "codeact_config",
    [{"detect_local_servers": ["http://127.0.0.1:9/v1"], "local_model": "off"}],
)
async def test_nothing_detected_is_an_empty_list(jp_fetch, jp_serverapp, codeact_config):
    manager = jp_serverapp.web_app.settings["codeact_manager"]
    json.loads((await jp_fetch("codeact", "config")).body)
    if manager.scout._task is not None:
        await manager.scout._task
    assert json.loads((await jp_fetch("codeact", "config")).body)["detected"] == []


async def test_no_detection_with_an_endpoint_configured(
    jp_fetch, jp_serverapp, ollama, monkeypatch
):
    manager = jp_serverapp.web_app.settings["codeact_manager"]
    assert manager.scout.enabled  # no endpoint here
    settings = CodeAct(base_url="http://example.com/v1", detect_local_servers=[root_of(ollama)])
    from codeact_lab.server.manager import EpisodeManager

    other = EpisodeManager(settings, jp_serverapp.kernel_manager, manager.store)
    assert not other.scout.enabled and "detected" not in other.config()
    await other.shutdown()


async def test_an_episode_runs_on_the_offered_server_once_the_user_chose_it(
    jp_fetch, jp_serverapp, jp_root_dir, ollama
):
    """What "Use it" in the sidebar sends: the user's settings name the detected server."""
    import nbformat

    server = (await config_when_found(jp_fetch))["detected"][0]
    ollama.script({"text": "It is <solution>42</solution>"})
    nbformat.write(nbformat.v4.new_notebook(), jp_root_dir / "n.ipynb")
    kernel_id = await jp_serverapp.kernel_manager.start_kernel(kernel_name="python3")
    body = {
        "task": "what is 6 times 7?",
        "notebook_path": "n.ipynb",
        "kernel_id": kernel_id,
        "settings": {"base_url": server["base_url"], "model": server["models"][0]},
    }
    response = await jp_fetch("codeact", "episodes", method="POST", body=json.dumps(body))
    episode_id = json.loads(response.body)["id"]
    deadline = time.monotonic() + 30
    while (record := json.loads((await jp_fetch("codeact", "episodes", episode_id)).body))[
        "state"
    ] is None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert record["state"] == "solved" and record["settings"]["model"] == "qwen2.5-coder:7b"
    assert [r["model"] for r in ollama.requests] == ["qwen2.5-coder:7b"]
    assert ollama.headers[0].get("Authorization") == f"Bearer {NO_KEY}"  # a placeholder
