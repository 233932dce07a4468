"""What a larger context costs the embedded model: memory and speed per ``n_ctx``.

For each context size, one run of the real llama.cpp server (``LocalModelServer``,
Qwen2.5-Coder-1.5B, this machine's CPU), side by side in one run:

* memory: the server process's RSS once loaded, and its peak while it answers;
* speed: a prompt of about 3,000 tokens (this package's code and a question), cold:
  prompt evaluation in tokens/s (prompt tokens over the time to the first reply
  token) and generation in tokens/s (the reply's tokens after the first, over the
  time they took);
* the next turn: the same prompt with one more short exchange appended, which
  llama.cpp answers from its cache of the unchanged prefix (why condensing keeps
  the prompt's beginning unchanged from one turn to the next).

The KV cache of Qwen2.5-1.5B is 28 layers x 2 KV heads x 128 dims x (K, V) x 2 bytes
= 28 KiB per token of context.

    python benchmarks/local_context.py [--contexts 4096,8192,16384] [--prompt-tokens 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import sys
import time
from typing import Any

import psutil

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from codeact_lab.agent import LLMClient, LLMConfig
from codeact_lab.agent.tokens import TOKENS_PER_MESSAGE, TOKENS_PER_PROMPT
from codeact_lab.local_model.server import LocalModelServer
from codeact_lab.local_model.weights import DEFAULT_MODEL, resolve_weights

ROOT = os.path.join(os.path.dirname(__file__), "..")
QUESTION = "In one sentence: what does the code above do?"
KV_BYTES_PER_TOKEN = 28 * 2 * 128 * 2 * 2


def source_text() -> str:
    paths = sorted(glob.glob(os.path.join(ROOT, "codeact_lab", "agent", "*.py")))
    texts = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            texts.append(f.read())
    return "\n".join(texts)


async def prompt_of(server: LocalModelServer, tokens: int) -> str:
    """Source code cut to about ``tokens`` tokens of the served model."""
    text = source_text()
    chars = tokens * 3
    while True:
        counted = await server.count_tokens(text[:chars])
        assert counted is not None, "the server cannot count tokens"
        if abs(counted - tokens) <= 50:
            return text[:chars]
        chars = int(chars * tokens / counted)


async def timed_reply(
    server: LocalModelServer, llm: LLMClient, messages: list[dict[str, str]]
) -> dict[str, Any]:
    """Time one streamed reply. llama_cpp.server sends no usage in a stream, so the
    prompt's and the reply's tokens are counted with its tokenizer."""
    first: list[float] = []
    started = time.perf_counter()
    done = await llm.complete(
        messages, on_delta=lambda _: first.append(time.perf_counter()) if not first else None
    )
    ended = time.perf_counter()
    assert first, "no reply"
    prompt = await server.count_tokens("\n".join(m["content"] for m in messages))
    reply = await server.count_tokens(done.text)
    assert prompt is not None and reply is not None
    return {
        "prompt_tokens": prompt + TOKENS_PER_MESSAGE * len(messages) + TOKENS_PER_PROMPT,
        "to_first": first[0] - started,
        "generation": max(1, reply - 1) / max(1e-6, ended - first[0]),
        "reply": done.text,
    }


async def measure(n_ctx: int, prompt_tokens: int, threads: int | None) -> dict[str, object]:
    server = LocalModelServer(
        lambda: resolve_weights(DEFAULT_MODEL), DEFAULT_MODEL, n_ctx=n_ctx, n_threads=threads
    )
    try:
        await server.ensure_started()
        assert server.pid is not None
        process = psutil.Process(server.pid)
        loaded = process.memory_info().rss
        peak = [loaded]
        sampling = True

        async def sample() -> None:
            while sampling:
                peak[0] = max(peak[0], process.memory_info().rss)
                await asyncio.sleep(0.1)

        sampler = asyncio.ensure_future(sample())
        llm = LLMClient(
            LLMConfig(
                model=DEFAULT_MODEL,
                base_url=server.base_url,
                api_key=server.api_key,
                max_tokens=48,
                reply_timeout=900,
                request_timeout=900,
            )
        )
        code = await prompt_of(server, prompt_tokens)
        messages = [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": f"{code}\n\n{QUESTION}"},
        ]
        cold = await timed_reply(server, llm, messages)
        messages += [
            {"role": "assistant", "content": str(cold["reply"])},
            {"role": "user", "content": "And which function is the entry point?"},
        ]
        warm = await timed_reply(server, llm, messages)
        sampling = False
        await sampler
        await llm.close()
        return {
            "n_ctx": n_ctx,
            "load": server.load_seconds,
            "rss_loaded": loaded,
            "rss_peak": peak[0],
            "cold": cold,
            "warm": warm,
        }
    finally:
        await server.stop()


async def main(args: argparse.Namespace) -> None:
    contexts = [int(c) for c in args.contexts.split(",")]
    started_load = os.getloadavg()[0]
    results = [await measure(n, args.prompt_tokens, args.threads or None) for n in contexts]
    print(
        f"local model {DEFAULT_MODEL}, {psutil.cpu_count()} cores (load average "
        f"{started_load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)"
    )
    print(
        f"{'n_ctx':>7}{'KV cache':>10}{'RSS loaded':>12}{'RSS peak':>10}{'prompt':>8}"
        f"{'prompt eval':>13}{'generation':>12}{'next turn':>11}"
    )
    for r in results:
        cold, warm = r["cold"], r["warm"]
        assert isinstance(cold, dict) and isinstance(warm, dict)
        kv = int(r["n_ctx"]) * KV_BYTES_PER_TOKEN  # type: ignore[call-overload]
        print(
            f"{r['n_ctx']:>7}{kv / 2**20:>7.0f} MiB{int(r['rss_loaded']) / 2**20:>8.0f} MiB"  # type: ignore[call-overload]
            f"{int(r['rss_peak']) / 2**20:>6.0f} MiB{int(cold['prompt_tokens']):>8}"
            f"{cold['prompt_tokens'] / cold['to_first']:>7.1f} tok/s{cold['generation']:>6.1f} tok/s"
            f"{warm['to_first']:>9.1f} s"
        )
    print(
        "prompt eval: prompt tokens / time to the first reply token, cold; next turn: time "
        "to the first token when one exchange is appended (the prefix is reused)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", default="4096,8192,16384")
    parser.add_argument("--prompt-tokens", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=0, help="0: one per core, at most 8")
    asyncio.run(main(parser.parse_args()))
