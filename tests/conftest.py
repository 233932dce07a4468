"""Shared fixtures: a scripted model server, a real kernel, and a Jupyter server."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from jupyter_client.manager import AsyncKernelManager

from codeact_lab.agent import KernelExecutor, LLMClient, LLMConfig

from .scripted_model import ScriptedModel

pytest_plugins = ("pytest_jupyter.jupyter_server",)

TEST_KEY = "sk-test-DO-NOT-LEAK-7f3a9c1e"


@pytest.fixture
def scripted() -> Iterator[ScriptedModel]:
    model = ScriptedModel().start()
    yield model
    model.stop()


@pytest.fixture
def make_llm(scripted: ScriptedModel):
    """An LLMClient pointed at the scripted server; keyword arguments override LLMConfig."""
    clients: list[LLMClient] = []

    def make(**overrides) -> LLMClient:
        config = LLMConfig(
            model="scripted",
            base_url=scripted.base_url,
            api_key=TEST_KEY,
            retry_base_delay=0.01,
            retry_max_delay=0.05,
            request_timeout=10,
        )
        for key, value in overrides.items():
            setattr(config, key, value)
        client = LLMClient(config)
        clients.append(client)
        return client

    return make


@pytest.fixture
def kernel(jp_asyncio_loop) -> Iterator[tuple[AsyncKernelManager, KernelExecutor]]:
    """A real ipykernel and an executor on it.

    Async tests run on pytest-jupyter's loop (``jp_asyncio_loop``; pytest-asyncio is
    not used, as pytest-jupyter documents), so async set-up runs on it too.
    """
    km = AsyncKernelManager(kernel_name="python3")
    jp_asyncio_loop.run_until_complete(
        km.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
    )
    executor = KernelExecutor.for_manager(km)
    jp_asyncio_loop.run_until_complete(executor.ensure_ready())
    yield km, executor
    executor.close()
    if km.has_kernel:
        jp_asyncio_loop.run_until_complete(km.shutdown_kernel(now=True))


@pytest.fixture
def executor(kernel) -> KernelExecutor:
    return kernel[1]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"codeact_lab": True}}}


@pytest.fixture
def python() -> str:
    return sys.executable
