"""The notebook view's bound: what a notebook of any size costs the model's prompt.

For notebooks from small to hostile (hundreds of cells, a 2 MB output, plots), prints the
notebook's own size beside the view the model is sent (tokens, estimated as the loop
does) and the time to build it, for the first message and for a follow-up's changes.

    python benchmarks/notebook_view.py
"""

from __future__ import annotations

import base64
import json
import time

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from codeact_lab.agent.notebook_view import (
    DEFAULT_BUDGET_TOKENS,
    describe_changes,
    describe_notebook,
)
from codeact_lab.agent.tokens import estimate_tokens

PLOT = base64.b64encode(bytes(range(256)) * 2000).decode()  # a 512 KB "PNG"


def analysis_cell(i: int, output_chars: int = 400) -> nbformat.NotebookNode:
    cell = new_code_cell(
        f"summary_{i} = df.groupby('region')['price'].agg(['mean', 'max'])\nsummary_{i}",
        id=f"c{i}",
        execution_count=i + 1,
    )
    cell.outputs = [new_output("execute_result", data={"text/plain": "x" * output_chars})]
    return cell


def notebooks() -> dict[str, list]:
    small = [new_markdown_cell("# Report", id="md")] + [analysis_cell(i) for i in range(10)]
    many = [analysis_cell(i) for i in range(500)]
    huge = [analysis_cell(i) for i in range(20)]
    huge[10].outputs = [new_output("stream", name="stdout", text="y" * 2_000_000)]
    plots = [analysis_cell(i) for i in range(30)]
    for cell in plots[::3]:
        cell.outputs.append(
            new_output("display_data", data={"image/png": PLOT, "text/plain": "<Figure>"})
        )
    failing = [analysis_cell(i) for i in range(40)]
    failing[-1].outputs = [
        new_output(
            "error",
            ename="KeyError",
            evalue="'revenue'",
            traceback=[f"frame {n}: " + "z" * 200 for n in range(200)],
        )
    ]
    return {
        "11 cells": small,
        "500 cells": many,
        "2 MB output": huge,
        "10 plots": plots,
        "long traceback": failing,
    }


def main() -> None:
    print(
        f"notebook view, budget {DEFAULT_BUDGET_TOKENS:,} tokens (c.CodeAct.notebook_context_tokens)"
    )
    header = f"{'notebook':<16}{'file':>12}{'view':>10}{'build':>10}{'changes':>10}{'build':>10}"
    print(header)
    print(f"{'':<16}{'bytes':>12}{'tokens':>10}{'ms':>10}{'tokens':>10}{'ms':>10}")
    for name, cells in notebooks().items():
        nb = new_notebook(cells=cells)
        size = len(json.dumps(nb))
        started = time.perf_counter()
        view = describe_notebook(nb.cells, "analysis.ipynb", cells[len(cells) // 2].id)
        built = (time.perf_counter() - started) * 1000
        edited = [dict(c) for c in nb.cells]
        for cell in edited[::5]:  # the user edited and re-ran a fifth of the cells
            cell["source"] += "\n# edited"
            cell["execution_count"] = (cell.get("execution_count") or 0) + 1000
        started = time.perf_counter()
        changes = describe_changes(view.cells, edited)
        changed = (time.perf_counter() - started) * 1000
        print(
            f"{name:<16}{size:>12,}{estimate_tokens(view.text):>10,}{built:>10.1f}"
            f"{estimate_tokens(changes.text):>10,}{changed:>10.1f}"
        )


if __name__ == "__main__":
    main()
