"""Code that would replace one of the functions the model was given with a value.

Seen on the embedded model: ``hotels = hotels("Tokyo")``, and a loop variable named
after a given ``gc_content``. After that, every call raises "'list' object is not
callable": the function is gone from the kernel, and neither the model nor the user can
get it back without re-running whatever defined it. The loop does not run such code.
Only names bound where the code runs are counted (assignments, loop and ``with``
targets, imports, at the top level or in its ``if``/``for``/``try`` blocks): a name bound
inside a function, a lambda or a comprehension is that scope's own, and a ``def`` or
``class`` of the same name is a deliberate redefinition.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _targets(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, ast.Assign):
        yield from node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr, ast.For, ast.AsyncFor)):
        yield node.target
    elif isinstance(node, (ast.With, ast.AsyncWith)):
        yield from (item.optional_vars for item in node.items if item.optional_vars)


def _bound_here(tree: ast.AST) -> Iterator[str]:
    """The names ``tree`` binds in the namespace it runs in."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (*_SCOPES, ast.comprehension)):
            continue
        for target in _targets(node):
            yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from ((a.asname or a.name).split(".")[0] for a in node.names)
        yield from _bound_here(node)


def replaced_functions(code: str, names: Iterable[str]) -> list[str]:
    """The given function names ``code`` would bind to something else, in order."""
    given = set(names)
    if not given:  # most notebooks list no tools: no parse on every action
        return []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []  # the kernel says what is wrong with it
    return list(dict.fromkeys(name for name in _bound_here(tree) if name in given))
