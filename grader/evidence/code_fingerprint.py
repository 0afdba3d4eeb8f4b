"""A fingerprint of a submission's code that survives cosmetic edits, to find identical or
near-identical submissions across a class.

The code (every .py file and the code cells of every notebook, as handed in) is read as Python
tokens; comments, blank lines, docstrings, layout and notebook magics are dropped, and every name
is replaced by the order of its first appearance (so `model`/`net` or `lr`/`learning_rate`
renamed throughout read the same). Literals and keywords stay. The result is a digest of the
whole normalised token stream (identical code) and the set of its 8-token windows, hashed
(near-identical code: the share of windows two submissions have in common). Computed by the
grader before the run, from the submission's private copy: the run cannot change it. A flag for
the instructor, never a verdict."""

from __future__ import annotations

import hashlib
import io
import json
import keyword
import tokenize
import zlib
from pathlib import Path

WINDOW = 8  # tokens per window: long enough that short common idioms do not match by themselves
NEAR = 0.8  # share of windows in common from which two submissions are called near-identical
MAX_FILE_BYTES = 2 * 1024**2  # larger files are data, not code
MAX_FILES = 200
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}


def _sources(root: Path) -> list[tuple[str, str]]:
    """(relative path, Python source) of every code file, in path order; links and hidden folders skipped."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.is_symlink() or not path.is_file():
            continue
        if path.suffix not in (".py", ".ipynb") or path.stat().st_size > MAX_FILE_BYTES:
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:  # unreadable: no code to compare
            continue
        if path.suffix == ".ipynb":
            text = _notebook_code(text)
        found.append((rel.as_posix(), text))
        if len(found) >= MAX_FILES:
            break
    return found


def _notebook_code(text: str) -> str:
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return ""
    code = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            code.append("".join(source) if isinstance(source, list) else str(source))
    return "\n".join(code)


def normalised_tokens(source: str) -> list[str]:
    """The source as tokens with comments, layout, docstrings and magics dropped and names numbered."""
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    names: dict[str, str] = {}
    out: list[str] = []
    line_start, skip_newline = True, False
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):  # not Python: its words, comments aside
        return [word for line in lines for word in line.split("#")[0].split()]
    for i, token in enumerate(tokens):
        if token.type in SKIPPED or (skip_newline and token.type == tokenize.NEWLINE):
            skip_newline = False
            continue
        if token.type == tokenize.STRING and line_start and i + 1 < len(tokens) and tokens[i + 1].type in (tokenize.NEWLINE, tokenize.NL):
            skip_newline = True  # a string alone on its line: a docstring, comment-like
            continue
        line_start = token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
        if token.type == tokenize.NAME and not keyword.iskeyword(token.string):
            out.append(names.setdefault(token.string, f"n{len(names)}"))
        elif token.type == tokenize.NEWLINE:
            out.append(";")
        elif token.type in (tokenize.INDENT, tokenize.DEDENT):
            out.append("{" if token.type == tokenize.INDENT else "}")  # the depth, not its width
        else:
            out.append(token.string)
    return out


def of_folder(root: Path) -> dict:
    """{"digest", "windows", "files", "tokens"} of the code under `root`."""
    tokens: list[str] = []
    files = _sources(Path(root))
    for _, source in files:
        tokens += normalised_tokens(source)
    windows = {zlib.crc32(" ".join(tokens[i : i + WINDOW]).encode()) for i in range(max(0, len(tokens) - WINDOW + 1))}
    return {
        "digest": hashlib.sha256(" ".join(tokens).encode()).hexdigest()[:16],
        "windows": sorted(windows),
        "files": [name for name, _ in files],
        "tokens": len(tokens),
    }


def similarity(a: dict, b: dict) -> float:
    """Share of windows in common (Jaccard); 1.0 for identical normalised code."""
    if a.get("digest") and a.get("digest") == b.get("digest"):
        return 1.0
    first, second = set(a.get("windows") or []), set(b.get("windows") or [])
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def groups(fingerprints: dict[str, dict], near: float = NEAR) -> list[dict]:
    """Students whose code is identical or near-identical after normalisation, joined into groups
    (a pair at or above `near` links them): [{"students", "identical", "least"}], where `least`
    is the lowest similarity of a linked pair in the group."""
    names = sorted(n for n, f in fingerprints.items() if f and f.get("tokens"))
    parent = {n: n for n in names}

    def root(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    links: list[tuple[str, str, float]] = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            share = similarity(fingerprints[a], fingerprints[b])
            if share >= near:
                links.append((a, b, share))
                parent[root(b)] = root(a)
    found: dict[str, dict] = {}
    for a, b, share in links:
        group = found.setdefault(root(a), {"students": set(), "least": 1.0})
        group["students"] |= {a, b}
        group["least"] = min(group["least"], share)
    result = []
    for group in found.values():
        members = sorted(group["students"])
        identical = len({fingerprints[m]["digest"] for m in members}) == 1
        result.append({"students": members, "identical": identical, "least": round(group["least"], 3)})
    return sorted(result, key=lambda g: g["students"])
