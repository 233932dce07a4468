"""Small multi-step tasks for the embedded local model, each with a checker.

Every task runs through the CodeAct core (``codeact_lab.agent.run``) on a fresh
ipykernel, against a fresh local llama.cpp server (so its result does not depend on
the task before it) at temperature 0, and its ``<solution>`` is checked. Prints, per
task: solved or not, turns, failed actions, generated tokens and seconds; then
solved/total, mean turns, model load time and generation speed.

    python benchmarks/local_tasks.py                         # Qwen2.5-Coder-1.5B, every task
    python benchmarks/local_tasks.py --model qwen2.5-coder-0.5b --only squares,collatz
    python benchmarks/local_tasks.py --json results.json

The real-model test (``tests/test_local_model_real.py``) runs a few of these tasks
through ``codeact-lab run``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from jupyter_client.manager import AsyncKernelManager

from codeact_lab.agent import (
    ActionStatus,
    Episode,
    EventType,
    FinalState,
    KernelExecutor,
    LLMClient,
    LLMConfig,
    Policy,
    StepKind,
    run,
)
from codeact_lab.local_model.resolve import LocalLLMClient
from codeact_lab.local_model.server import LocalModelServer
from codeact_lab.local_model.settings import LocalModelSettings
from codeact_lab.local_model.weights import DEFAULT_MODEL, MODELS, resolve_weights
from codeact_lab.transcript import TranscriptPrinter

MAX_TOKENS = 384  # a CodeAct reply is short; this bounds a runaway one (~30 s at 13 tok/s)


def numbers(text: str) -> list[float]:
    """Every number in a text: ``1,234`` and ``1_234`` count as 1234."""
    cleaned = re.sub(r"(?<=\d)[,_](?=\d{3}\b)", "", text)
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", cleaned)]


def has_number(expected: float, tolerance: float = 1e-6) -> Callable[[str], bool]:
    def check(answer: str) -> bool:
        return any(
            abs(n - expected) <= tolerance * max(1.0, abs(expected)) for n in numbers(answer)
        )

    return check


def has_words(*words: str) -> Callable[[str], bool]:
    def check(answer: str) -> bool:
        lower = answer.lower()
        return all(word.lower() in lower for word in words)

    return check


def both(*checks: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda answer: all(check(answer) for check in checks)


@dataclass
class Task:
    name: str
    kind: str  # what it exercises
    prompt: str
    check: Callable[[str], bool] = field(repr=False)


TASKS = [
    Task(
        "squares",
        "loop",
        "What is the sum of the squares of 1 to 10?",
        has_number(385),
    ),
    Task(
        "odd-squares",
        "loop",
        "Compute the sum of the squares of the odd numbers from 1 to 99 inclusive.",
        has_number(166650),
    ),
    Task(
        "collatz",
        "loop",
        "The Collatz sequence goes n -> n/2 if n is even, n -> 3n+1 if n is odd. "
        "How many steps does it take to go from 27 to 1?",
        has_number(111),
    ),
    Task(
        "primes",
        "loop",
        "How many prime numbers are there below 10000?",
        has_number(1229),
    ),
    Task(
        "fibonacci",
        "loop",
        "With F(1) = F(2) = 1 and F(n) = F(n-1) + F(n-2), what is F(60)?",
        has_number(1548008755920),
    ),
    Task(
        "digit-sum",
        "loop",
        "What is the sum of the digits of 2**100?",
        has_number(115),
    ),
    Task(
        "triangular",
        "multi-step",
        "Make a list of the first 15 triangular numbers (1, 3, 6, ...). "
        "Then tell me how many of them are even.",
        has_number(7),
    ),
    Task(
        "dates",
        "library",
        "How many days are there from 2024-01-15 to 2025-03-01?",
        has_number(411),
    ),
    Task(
        "junk-numbers",
        "messy data",
        "raw = ['12', '7', 'n/a', '30', '', '5'] holds numbers as text, and some junk. "
        "Define raw in Python and compute the sum of the numbers in it.",
        has_number(54),
    ),
    Task(
        "decimal-text",
        "messy data",
        "values = ['3', '4.5', '10', '2.25'] are numbers written as text. "
        "Define values in Python and compute their sum.",
        has_number(19.75),
    ),
    Task(
        "fruit-prices",
        "messy data",
        "prices = {'apple': 1.2, 'banana': 0.5}. Using this dict in Python, compute the cost "
        "of 3 apples, 2 bananas and 4 cherries, where a fruit with no price costs 2.0.",
        has_number(12.6),
    ),
    Task(
        "append-row",
        "error recovery",
        "Create a pandas DataFrame with columns name and score holding the rows ('ann', 3) "
        "and ('bob', 5). Then, in a separate step, append the row ('cy', 10) to it. "
        "What is the mean score now?",
        has_number(6),
    ),
    Task(
        "missing-column",
        "messy data",
        "Create this pandas DataFrame exactly: "
        "pd.DataFrame({'Item Name': ['pen', 'book', 'lamp'], 'Unit Price': [1.5, 12.0, 30.0], "
        "'Qty': [10, 2, 1]}). What is the total value (unit price times quantity, summed)?",
        has_number(69),
    ),
    Task(
        "dataframe",
        "dataframe",
        "Build a pandas DataFrame with columns city and temp from these readings: "
        "Oslo 3, Rome 18, Oslo 5, Cairo 30, Rome 20, Cairo 28. "
        "Which city has the highest mean temperature?",
        has_words("cairo"),
    ),
    Task(
        "helper",
        "helper function",
        "Here is a pricing function:\n\n"
        "def shipping_cost(weight_kg, zone):\n"
        "    base = {'A': 4.0, 'B': 6.5, 'C': 9.0}[zone]\n"
        "    return base + 1.25 * max(0, weight_kg - 1)\n\n"
        "Define it in Python, then use it to find the total cost of shipping three parcels "
        "of 2 kg, 5 kg and 11 kg to zone 'B'.",
        has_number(38.25),
    ),
    Task(
        "word-count",
        "strings",
        "In the sentence 'the cat saw the dog and the dog saw the cat run', "
        "how many times does the most frequent word appear?",
        has_number(4),
    ),
]


@dataclass
class Result:
    name: str
    kind: str
    solved: bool
    state: str
    turns: int
    failed_actions: int
    tokens: int
    seconds: float
    answer: str
    reason: str = ""


async def run_task(task: Task, llm: LLMClient, policy: Policy, verbose: bool = False) -> Result:
    sockets = tempfile.TemporaryDirectory(prefix="codeact-bench-")
    km = AsyncKernelManager(
        kernel_name="python3", transport="ipc", ip=os.path.join(sockets.name, "kernel")
    )
    await km.start_kernel(extra_arguments=["--HistoryManager.enabled=False"])
    executor = KernelExecutor.for_manager(km)
    episode = Episode(task=task.prompt)
    printer = TranscriptPrinter(episode, sys.stdout) if verbose else None
    tokens = 0
    started = time.monotonic()
    try:
        await executor.ensure_ready()
        async for event in run(episode, llm, executor, policy):
            if event.type is EventType.TEXT_DELTA:
                tokens += 1  # llama.cpp streams one token a chunk
            if printer:
                printer(event)
    finally:
        executor.close()
        await km.shutdown_kernel(now=True)
        sockets.cleanup()
    seconds = time.monotonic() - started
    answer = episode.solution or ""
    failed = sum(
        1
        for s in episode.steps
        if s.kind is StepKind.ACTION
        and s.data.get("status") in (ActionStatus.ERROR.value, ActionStatus.TIMEOUT.value)
    )
    solved = episode.state is FinalState.SOLVED and task.check(answer)
    return Result(
        task.name,
        task.kind,
        solved,
        episode.state.value if episode.state else "?",
        episode.turns,
        failed,
        tokens,
        round(seconds, 1),
        " ".join(answer.split())[:80],
        episode.reason or "",
    )


async def main_async(args: argparse.Namespace) -> list[Result]:
    tasks = [t for t in TASKS if not args.only or t.name in args.only.split(",")]
    server = LocalModelServer(
        lambda: resolve_weights(args.model), args.model, n_threads=args.threads or None
    )
    started = time.monotonic()
    await server.ensure_started()
    load = time.monotonic() - started
    print(f"model {args.model}: ready in {load:.1f} s, {server.n_threads} threads", flush=True)
    # The product's client: it fits each reply in the context that is left.
    config = LLMConfig(
        model=args.model,
        base_url=server.base_url,
        max_tokens=MAX_TOKENS,
        extra_body={"repeat_penalty": args.repeat_penalty},  # as the product sends it
    )
    llm = LocalLLMClient(config, server)
    policy = Policy(max_turns=args.max_turns, action_timeout=30)
    results = []
    try:
        print(
            f"{'task':<15} {'kind':<16} {'ok':<3} {'turns':>5} {'errs':>4} {'tok':>5} {'s':>6}  answer"
        )
        for task in tasks:
            if not args.shared_model_cache:
                # A server that has seen nothing: llama.cpp reuses the previous prompt's
                # tokens, and at temperature 0 a task's reply then depends on the one before.
                await server.stop()  # the client starts it again for the task's first reply
            result = await run_task(task, llm, policy, args.verbose)
            results.append(result)
            print(
                f"{result.name:<15} {result.kind:<16} {'yes' if result.solved else 'no':<3} "
                f"{result.turns:>5} {result.failed_actions:>4} {result.tokens:>5} "
                f"{result.seconds:>6.1f}  {result.answer or result.state + ': ' + result.reason[:60]}",
                flush=True,
            )
    finally:
        await llm.close()
        await server.stop()
    solved = sum(r.solved for r in results)
    turns = [r.turns for r in results]
    tokens = sum(r.tokens for r in results)
    seconds = sum(r.seconds for r in results)
    print(
        f"\nsolved {solved}/{len(results)}; turns per task: mean {sum(turns) / len(turns):.1f}, "
        f"solved ones {sum(r.turns for r in results if r.solved) / max(1, solved):.1f}; "
        f"{tokens} tokens generated in {seconds:.0f} s of episodes "
        f"({tokens / seconds:.1f} tok/s overall, kernels and prompts included); load {load:.1f} s"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "model": args.model,
                    "repeat_penalty": args.repeat_penalty,
                    "load_seconds": load,
                    "results": [asdict(r) for r in results],
                },
                f,
                indent=1,
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=list(MODELS))
    parser.add_argument("--only", help="comma-separated task names")
    parser.add_argument("--max-turns", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="0: one per core, at most 8")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument(
        "--repeat-penalty",
        type=float,
        default=LocalModelSettings.local_model_repeat_penalty.default_value,
        help="llama.cpp's repeat penalty (default: the product's, "
        "c.CodeAct.local_model_repeat_penalty; the server's own is 1.1)",
    )
    parser.add_argument(
        "--shared-model-cache",
        action="store_true",
        help="one model server for every task (each task then starts from the cache of the "
        "task before it)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="print every transcript")
    args = parser.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
