"""Per-action cost of the CodeAct core next to raw ``execute_interactive`` on the same kernel.

Three ways to run N trivial actions (``pass``) on one ipykernel, interleaved over
several rounds so that machine noise hits them alike:

  raw        jupyter_client's ``execute_interactive``, N times: the floor
  core       codeact_lab's loop with an instant in-process model (parse, events,
             observation, kernel executor): what the core adds per action
  core+http  the same loop with the scripted OpenAI-compatible server streaming
             each reply over HTTP through the openai client

Prints milliseconds per action (median of rounds) and the ratio to raw. Target: core ≤ 1.5× raw.

    python benchmarks/action_cost.py [--actions 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from jupyter_client.manager import AsyncKernelManager

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from codeact_lab.agent import (
    Completion,
    Episode,
    FinalState,
    KernelExecutor,
    LLMClient,
    LLMConfig,
    Policy,
    Usage,
    run,
)
from tests.scripted_model import ScriptedModel

ACTION = "<execute>\npass\n</execute>"
ANSWER = "<solution>done</solution>"


class InstantModel:
    """A model that answers at once: N actions, then the solution."""

    def __init__(self, actions: int) -> None:
        self.actions = actions
        self.calls = 0

    async def complete(
        self,
        messages: Sequence[dict[str, Any]],
        *,
        on_delta: Any = None,
        on_retry: Any = None,
        sampling: Any = None,
    ) -> Completion:
        self.calls += 1
        text = ACTION if self.calls <= self.actions else ANSWER
        if on_delta:
            on_delta(text)
        return Completion(text, "stop", Usage(len(messages), 5))


def scripted_actions(actions: int) -> ScriptedModel:
    calls = {"n": 0}

    def reply(_body: dict[str, Any]) -> dict[str, Any]:
        calls["n"] += 1
        return {"text": ACTION if calls["n"] <= actions else ANSWER, "chunk": 64}

    model = ScriptedModel()
    model.default = reply
    return model.start()


async def time_raw(client: Any, actions: int) -> float:
    started = time.perf_counter()
    for _ in range(actions):
        reply = await client.execute_interactive("pass", output_hook=lambda msg: None, timeout=30)
        assert reply["content"]["status"] == "ok"
    return (time.perf_counter() - started) / actions


async def time_core(executor: KernelExecutor, llm: Any, actions: int) -> float:
    episode = Episode(task="benchmark")
    policy = Policy(max_turns=actions + 1, action_timeout=30)
    started = time.perf_counter()
    async for _ in run(episode, llm, executor, policy):
        pass
    elapsed = time.perf_counter() - started
    assert episode.state is FinalState.SOLVED, (episode.state, episode.reason)
    return elapsed / actions


async def main(actions: int, rounds: int) -> None:
    km = AsyncKernelManager(kernel_name="python3")
    await km.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
    raw_client = km.client()
    raw_client.start_channels()
    await raw_client.wait_for_ready(timeout=60)
    executor = KernelExecutor.for_manager(km)
    await executor.ensure_ready()
    server = scripted_actions(0)
    try:
        await time_raw(raw_client, 20)  # warm up both paths
        await time_core(executor, InstantModel(20), 20)
        results: dict[str, list[float]] = {"raw": [], "core": [], "core+http": []}
        for _ in range(rounds):
            results["raw"].append(await time_raw(raw_client, actions))
            results["core"].append(await time_core(executor, InstantModel(actions), actions))
            server.stop()
            server = scripted_actions(actions)
            llm = LLMClient(LLMConfig(model="scripted", base_url=server.base_url, api_key="x"))
            results["core+http"].append(await time_core(executor, llm, actions))
            await llm.close()
    finally:
        server.stop()
        raw_client.stop_channels()
        executor.close()
        await km.shutdown_kernel(now=True)

    raw = statistics.median(results["raw"])
    print(f"{actions} actions of `pass` on one ipykernel, median of {rounds} rounds")
    print(f"{'path':<12}{'ms/action':>12}{'× raw':>10}")
    for name, values in results.items():
        value = statistics.median(values)
        print(f"{name:<12}{value * 1000:>12.2f}{value / raw:>10.2f}")
    core = statistics.median(results["core"]) / raw
    verdict = "meets" if core <= 1.5 else "MISSES"
    print(f"core / raw = {core:.2f} ({verdict} the 1.5× target)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.actions, args.rounds))
