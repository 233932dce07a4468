"""An exported episode is a valid notebook that re-runs top to bottom with the same outputs."""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from codeact_lab.agent import Episode, Policy, run
from codeact_lab.export import FAILED_NOTE, episode_to_notebook


async def make_episode(scripted, make_llm, executor, *replies):
    scripted.script(*({"text": r} for r in replies))
    ep = Episode(task="analyse the numbers")
    async for _ in run(ep, make_llm(), executor, Policy()):
        pass
    return ep


def code_outputs(nb):
    return [
        [{k: v for k, v in o.items() if k != "execution_count"} for o in c.outputs]
        for c in nb.cells
        if c.cell_type == "code"
    ]


async def test_export_validates_and_reruns_with_the_same_outputs(scripted, make_llm, executor):
    ep = await make_episode(
        scripted,
        make_llm,
        executor,
        "Load them.\n<execute>\nnumbers = [4, 8, 15, 16, 23, 42]\nprint(len(numbers))\n</execute>",
        "Oops, a typo.\n<execute>\nprint(sum(numbrs))\n</execute>",
        "<execute>\ntotal = sum(numbers)\ntotal\n</execute>",
        "The total is <solution>108</solution>",
    )
    nb = episode_to_notebook(ep)
    nbformat.validate(nb)
    failed = [
        c
        for c in nb.cells
        if c.cell_type == "code" and "raises-exception" in c.metadata.get("tags", [])
    ]
    assert len(failed) == 1 and "numbrs" in failed[0].source
    assert nb.cells[0].source == "**Task:** analyse the numbers"
    assert [c.source for c in nb.cells if c.cell_type == "markdown"][1:] == [
        FAILED_NOTE,
        "Load them.",
        "Oops, a typo.",
        "The total is",
        "**Answer:** 108",
    ]

    rerun = nbformat.from_dict(nb)
    await NotebookClient(rerun, timeout=60, kernel_name="python3").async_execute()
    assert code_outputs(rerun) == code_outputs(nb)
    assert [c.execution_count for c in rerun.cells if c.cell_type == "code"] == [1, 2, 3]


async def test_code_only_export_keeps_just_the_actions(scripted, make_llm, executor):
    ep = await make_episode(
        scripted, make_llm, executor, "<execute>x = 2</execute>", "<solution>2</solution>"
    )
    nb = episode_to_notebook(ep, code_only=True)
    assert [c.cell_type for c in nb.cells] == ["code"]
    assert nb.metadata["codeact"]["final_state"] == "solved"
    assert "api_key" not in str(nb.metadata)
