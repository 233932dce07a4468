"""The token estimate (``codeact_lab/agent/tokens.py``) against the embedded model's tokenizer.

The loop condenses every prompt with the estimate, so it must not count low: this
tokenizes texts like those a prompt holds (Python code, tracebacks, printed tables
and numbers, English, JSON, non-ASCII text) with Qwen2.5-Coder's own tokenizer (its
GGUF, vocabulary only) and prints, per kind, the real tokens next to the estimate.
Every ratio estimate / real must be at least 1.00; the closer to 1, the less of the
context the estimate wastes.

    python benchmarks/token_estimate.py [--model qwen2.5-coder-1.5b] [--piece 4000]
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import random
import sys
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from codeact_lab.agent.tokens import estimate_tokens
from codeact_lab.local_model.weights import DEFAULT_MODEL, resolve_weights

ROOT = os.path.join(os.path.dirname(__file__), "..")


def _traceback() -> str:
    def parse(rows: list[str]) -> dict[str, int]:
        return {row.split(",")[0]: int(row.split(",")[1]) for row in rows}

    try:
        parse(["a,1", "b,2", "c,x"])
    except ValueError:
        return traceback.format_exc()
    return ""


def read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def samples() -> dict[str, str]:
    import pandas as pd

    rng = random.Random(0)
    code = "".join(
        read(path)
        for path in sorted(
            glob.glob(os.path.join(ROOT, "codeact_lab", "**", "*.py"), recursive=True)
        )
    )
    frame = pd.DataFrame(
        {
            "city": [rng.choice(["Paris", "Lyon", "Nantes", "Lille"]) for _ in range(400)],
            "price": [round(rng.uniform(1, 1000), 2) for _ in range(400)],
            "count": [rng.randint(0, 10_000) for _ in range(400)],
            "label": [f"item-{rng.randint(0, 99)}" for _ in range(400)],
        }
    )
    buffer = io.StringIO()
    frame.info(buf=buffer)
    readme = read(os.path.join(ROOT, "README.md"))
    return {
        "Python code (this package)": code,
        "tracebacks": _traceback() * 20,
        "DataFrame repr": frame.to_string(),
        "DataFrame.describe/info": frame.describe().to_string() + buffer.getvalue(),
        "printed numbers": "\n".join(
            str(rng.random() * 10 ** rng.randint(0, 6)) for _ in range(2000)
        ),
        "list of ints": str(list(range(0, 100_000, 7))),
        "English (README)": readme,
        "JSON": json.dumps([frame.iloc[i].to_dict() for i in range(300)], indent=1),
        "repeated character": "x" * 100_000,
        "non-ASCII (French, Chinese, emoji)": (
            "Le résultat dépend de la température. 数据框的列名不正确。🙂 ✓ → " * 200
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--piece", type=int, default=4000, help="characters per piece")
    args = parser.parse_args()
    from llama_cpp import Llama

    llama = Llama(model_path=resolve_weights(args.model), vocab_only=True, verbose=False)

    def real(text: str) -> int:
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    print(
        "the estimate of codeact_lab/agent/tokens.py against the real tokenizer, per kind of text"
    )
    print(f"{'kind':38}{'chars':>9}{'tokens':>8}{'estimate':>9}{'ratio':>7}{'worst piece':>12}")
    worst_all = float("inf")
    for kind, text in samples().items():
        pieces = [text[i : i + args.piece] for i in range(0, len(text), args.piece)]
        pieces = [p for p in pieces if len(p) >= args.piece // 4] or pieces
        tokens = sum(real(p) for p in pieces)
        estimate = sum(estimate_tokens(p) for p in pieces)
        worst = min(estimate_tokens(p) / real(p) for p in pieces)
        worst_all = min(worst_all, worst)
        chars = sum(len(p) for p in pieces)
        print(
            f"{kind:38}{chars:>9,}{tokens:>8,}{estimate:>9,}{estimate / tokens:>7.2f}{worst:>12.2f}"
        )
    print(f"lowest estimate / real over every piece: {worst_all:.2f} (must be ≥ 1.00)")


if __name__ == "__main__":
    main()
