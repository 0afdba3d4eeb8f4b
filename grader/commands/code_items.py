"""The vocabulary of `grade check`'s static reading: one finding (Item), one piece of code (Unit),
and the look-ups into the code's syntax tree that every part of the reading uses."""

from __future__ import annotations

import ast
from dataclasses import dataclass

OK, PROBLEM, WARNING, INFO = "ok", "problem", "warning", "info"


@dataclass(frozen=True)
class Item:
    status: str  # ok | problem | warning | info
    topic: str
    text: str


@dataclass
class Unit:
    """One piece of code: a .py file, or a notebook cell."""

    label: str  # train.py, or notebook.ipynb cell 3
    tree: ast.Module


def calls(tree: ast.Module, *names: str) -> list[ast.Call]:
    def name_of(func) -> str | None:
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None

    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and name_of(n.func) in names]


def literal(node):
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
