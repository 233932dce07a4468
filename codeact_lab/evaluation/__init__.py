"""The evaluation harness: ``codeact-lab eval`` compares code, JSON and text actions.

* :mod:`.suite`: what a task is for the harness (:class:`EvalTask`, :class:`ToolSpec`);
* :mod:`.tasks`: the built-in suite (six domains of plain Python tools, and data analysis
  on CSV files) and its checker;
* :mod:`.m3tooleval`: the paper's suite, imported from a user's checkout;
* :mod:`.modes`: the three action modes (prompts and JSON/text translators);
* :mod:`.harness`: a fresh kernel per task, the loop, the answer checked, retries;
* :mod:`.results`, :mod:`.report`, :mod:`.progress`: the JSONL file (and resume), the
  table, summary and plot, the progress bar;
* :mod:`.command`: the ``eval`` subcommand.
"""
