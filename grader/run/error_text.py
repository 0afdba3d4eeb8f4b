"""Error texts as Python and MindSpore print them, reduced to what a student reads: MindSpore
appends to its messages separators, section titles and a C++ call stack written for its own
developers, which say nothing about the student's code."""

from __future__ import annotations

import re

SEPARATOR = re.compile(r"^-{10,}$")
SECTION_TITLE = re.compile(r"^- .*:\s*(?:\(.*\))?$")
CPP_STACK = "- C++ Call Stack:"


def said(text: str) -> list[str]:
    """The lines of an error text that say something: never a separator or the C++ call stack
    (which runs from its title to the next blank line)."""
    lines, in_stack = [], False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(CPP_STACK):
            in_stack = True
        elif in_stack and not line:
            in_stack = False
        elif not in_stack and line and not SEPARATOR.match(line):
            lines.append(line)
    return lines


def readable(message: str) -> str:
    """A multi-line error message as one line: MindSpore's section titles, separators and C++ call
    stack left out."""
    return " ".join(line for line in said(message) if not SECTION_TITLE.match(line))
