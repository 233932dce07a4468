"""The notebook view the model reads: cells in order, the anchor marked, errors, budgets."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from codeact_lab.agent.notebook_view import describe_changes, describe_notebook
from codeact_lab.agent.tokens import estimate_tokens


def notebook_cells() -> list[dict]:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Sales report", id="intro"),
            new_code_cell(
                "import pandas as pd\ndf = pd.DataFrame({'price': [1, 2]})",
                id="load",
                execution_count=1,
            ),
            new_code_cell("threshold = 0.75", id="threshold"),  # written, never run
            new_code_cell(
                "df['revenue'].sum()",
                id="fails",
                execution_count=2,
                outputs=[
                    new_output(
                        "error",
                        ename="KeyError",
                        evalue="'revenue'",
                        traceback=[
                            "\x1b[0;31mKeyError\x1b[0m Traceback (most recent call last)",
                            "Cell In[2], line 1",
                            "KeyError: 'revenue'",
                        ],
                    )
                ],
            ),
        ]
    )
    nbformat.validate(nb)
    return nb.cells


def test_the_view_lists_cells_in_order_and_marks_the_anchor_and_the_error():
    view = describe_notebook(notebook_cells(), "work/sales.ipynb", anchor_cell_id="fails")
    text = view.text
    assert "work/sales.ipynb" in text
    positions = [text.index(s) for s in ("# Sales report", "pd.DataFrame", "threshold = 0.75")]
    assert positions == sorted(positions)
    assert "--- cell 3 (code, not run)" in text
    assert "--- cell 4 (code, In [2], raised) <- selected" in text
    assert "The last cell the user ran (cell 4, In [2]) raised KeyError: 'revenue'" in text
    assert "\x1b" not in text  # tracebacks lose their colours
    assert [c["id"] for c in view.cells] == ["intro", "load", "threshold", "fails"]


def test_no_latest_error_when_the_last_cell_run_succeeded():
    cells = notebook_cells()
    cells[1]["execution_count"] = 3  # the load cell ran after the failing one
    view = describe_notebook(cells, "a.ipynb")
    assert "The last cell the user ran" not in view.text
    assert "raised" in view.text  # the failing cell still shows it failed


def test_a_huge_output_and_an_image_stay_within_the_budget():
    cells = notebook_cells()
    cells[1]["outputs"] = [
        new_output("stream", name="stdout", text="x" * 2_000_000),
        new_output("display_data", data={"image/png": "iVBOR" * 100_000, "text/plain": "<Figure>"}),
    ]
    view = describe_notebook(cells, "a.ipynb", anchor_cell_id="fails", budget_tokens=1500)
    assert estimate_tokens(view.text) <= 1500
    assert "characters cut" in view.text
    assert "iVBOR" not in view.text
    assert "[image: image/png" in view.text


def test_cells_nearest_the_anchor_come_first_and_gaps_are_named():
    cells = [new_code_cell(f"value_{i} = {i}\n" + "# filler\n" * 40, id=f"c{i}") for i in range(60)]
    view = describe_notebook(cells, "long.ipynb", anchor_cell_id="c30", budget_tokens=1500)
    assert estimate_tokens(view.text) <= 1500
    assert "value_30 = 30" in view.text and "value_29 = 29" in view.text
    assert "value_0 = 0" not in view.text
    assert "not shown]" in view.text
    assert "<- selected" in view.text


def test_secrets_are_redacted():
    cells = [new_code_cell("key = 'sk-very-secret-key-123'", id="k")]
    view = describe_notebook(cells, "a.ipynb", secrets=["sk-very-secret-key-123"])
    assert "sk-very-secret" not in view.text and "[redacted]" in view.text


def test_malformed_cells_are_read_as_well_as_they_can_be():
    cells = [
        {"cell_type": "code", "source": ["a = ", "1"], "outputs": "nope", "execution_count": "7"},
        "not a cell",
        {"cell_type": None, "source": 5, "metadata": []},
        {"cell_type": "code", "source": "b", "outputs": [{"output_type": "error"}, 3]},
    ]
    view = describe_notebook(cells, "odd.ipynb")
    assert "a = 1" in view.text
    assert "Error" in view.text


def test_changes_name_edited_added_run_and_deleted_cells_with_new_errors():
    cells = notebook_cells()
    first = describe_notebook(cells, "a.ipynb")
    cells = [dict(c) for c in cells]
    cells[2]["source"] = "threshold = 0.9"  # edited, not run
    cells[1]["execution_count"] = 5  # ran again
    del cells[0]  # deleted the markdown
    added = new_code_cell("df['price'].max()", id="new", execution_count=6)
    added["outputs"] = [
        new_output("error", ename="NameError", evalue="name 'df' is not defined", traceback=[])
    ]
    cells.append(added)
    changes = describe_changes(first.cells, cells)
    text = changes.text
    assert "cell 2 (code): edited" in text and "threshold = 0.9" in text
    assert "cell 1 (code): ran" in text
    assert "(code): added" in text
    assert "1 cell deleted" in text
    assert "raised NameError: name 'df' is not defined" in text
    assert describe_changes(changes.cells, cells).text == ""  # nothing new since


def test_changes_leave_out_the_episodes_own_cells():
    cells = notebook_cells()
    first = describe_notebook(cells, "a.ipynb")
    action = new_code_cell("print(1)", id="act", execution_count=3)
    action["metadata"]["codeact"] = {"episode": "e1", "step": "s1"}
    assert describe_changes(first.cells, [*cells, action], episode_id="e1").text == ""
    assert "added" in describe_changes(first.cells, [*cells, action], episode_id="e2").text


def test_an_empty_notebook_adds_nothing_to_the_message():
    assert describe_notebook([], "new.ipynb").text == ""


def test_the_changes_of_a_long_notebook_stay_within_the_budget():
    cells = [new_code_cell(f"value_{i} = {i}  # " + "note " * 40, id=f"c{i}") for i in range(500)]
    first = describe_notebook(cells, "long.ipynb")
    edited = [{**c, "source": c["source"] + "\n# edited", "execution_count": 9} for c in cells]
    changes = describe_changes(first.cells, edited, budget_tokens=1500)
    assert estimate_tokens(changes.text) <= 1500
    assert "characters cut" in changes.text and "cell 500 (code): edited and ran" in changes.text


def test_a_users_error_inside_pandas_shows_the_cells_failing_line():
    """The view keeps a traceback's last lines: without the library frames folded, those
    were pandas' internals, and the user's own line was cut off."""
    library = [
        f"File /env/lib/python3.11/site-packages/pandas/io/parsers/readers.py:{n}, in f(a)\n"
        + "".join(f"   {n + i} internal_line_{i}\n" for i in range(8))
        for n in (100, 200, 300)
    ]
    error = new_output(
        "error",
        ename="FileNotFoundError",
        evalue="no such file",
        traceback=[
            "FileNotFoundError   Traceback (most recent call last)",
            "Cell In[3], line 2\n      1 import pandas as pd\n----> 2 pd.read_csv('sales.csv')\n",
            *library,
            "FileNotFoundError: [Errno 2] No such file or directory: 'sales.csv'",
        ],
    )
    nb = new_notebook(
        cells=[new_code_cell("import pandas as pd\npd.read_csv('sales.csv')", id="read",
                             execution_count=3, outputs=[error])]
    )  # fmt: skip
    nbformat.validate(nb)
    text = describe_notebook(nb.cells, "a.ipynb", anchor_cell_id="read").text
    assert "----> 2 pd.read_csv('sales.csv')" in text
    assert "[... 3 frames inside pandas not shown ...]" in text
    assert "internal_line" not in text
