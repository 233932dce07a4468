"""``@tool``: mark a kernel function as a tool the model is told about.

    from codeact_lab import tool

    @tool
    def monthly_revenue(df, year: int) -> "pd.Series":
        \"\"\"Revenue per month of ``year`` from a sales DataFrame.\"\"\"
        ...

Any function in the kernel can be called by the model's code (that is the point of
CodeAct); marked ones are described to it by name, signature and docstring, so it
knows to use them and composes several in one action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# name -> function; read by the context probe that runs in the kernel.
REGISTERED: dict[str, Callable[..., Any]] = {}


def tool(function: F) -> F:
    REGISTERED[function.__name__] = function
    return function
