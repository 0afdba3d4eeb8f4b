"""Which hub names a submission's code loads (models, datasets, metrics) and whether the grader
serves them offline, resolved as the run's offline hooks (grader_hooks/offline.py) will see them:
a literal, or a name the code binds to one string (`task = "mrpc"`); a value computed at run time
is said to be unknown here, never judged."""

from __future__ import annotations

import ast
import tomllib

from grader.commands.code_items import INFO, OK, PROBLEM, WARNING, Item, Unit, calls, literal
from grader.run.inject.grader_hooks import offline as offline_hook
from grader.run.offline import CONFIG as OFFLINE_CONFIG

LOCAL_LOADERS = {"json", "csv", "text", "parquet", "arrow", "pandas"}  # datasets' packaged builders: no hub


def served_names(hub_names: tuple[str, ...]) -> dict[str, set[str]]:
    """Lower-case names the offline mapping serves: models (a profile's hub_names), datasets, metrics;
    the hooks match a call's path and name against them (offline_hook.match)."""
    config = tomllib.loads(OFFLINE_CONFIG.read_text())
    return {
        "model": {n.lower() for n in hub_names},
        "dataset": {n.lower() for e in config.get("datasets", []) for n in e["names"]},
        "metric": {n.lower() for e in config.get("metrics", []) for n in e["names"]},
    }


UNKNOWN = object()  # a value the code computes at run time


def constants(trees: list[ast.Module]) -> dict[str, str]:
    """Names bound to one string literal and nothing else anywhere in code that shares one namespace
    (a script, or a notebook's cells): `task = "mrpc"` resolves `task`. A name that is also a
    parameter, a loop variable, an import or assigned anything else stays unknown."""
    bound: dict[str, set] = {}
    assigned: set[int] = set()  # the Name nodes of plain assignments, bound with their value below
    for node in (n for tree in trees for n in ast.walk(tree)):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                pairs = [(target, node.value)]
                if isinstance(target, ast.Tuple | ast.List):
                    values = node.value.elts if isinstance(node.value, ast.Tuple | ast.List) else []
                    pairs = list(zip(target.elts, values, strict=True)) if len(values) == len(target.elts) else []
                for name, value in pairs:
                    if isinstance(name, ast.Name):
                        string = literal(value)
                        bound.setdefault(name.id, set()).add(string if isinstance(string, str) else UNKNOWN)
                        assigned.add(id(name))
    for node in (n for tree in trees for n in ast.walk(tree)):
        names = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del) and id(node) not in assigned:
            names = [node.id]  # loop and with targets, unpacking of computed values, walrus, +=, del
        elif isinstance(node, ast.arg):
            names = [node.arg]
        elif isinstance(node, ast.alias):
            names = [(node.asname or node.name).split(".")[0]]
        elif isinstance(node, ast.Global | ast.Nonlocal | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names = getattr(node, "names", None) or [node.name]
        for name in names:
            bound.setdefault(name, set()).add(UNKNOWN)
    return {name: values.pop() for name, values in bound.items() if len(values) == 1 and UNKNOWN not in values}


def _value(node: ast.expr | None, known: dict[str, str]):
    """A string argument: a literal, or a name bound to one (see constants); UNKNOWN otherwise."""
    if node is None:
        return None
    value = literal(node)
    if isinstance(value, str):
        return value
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    return None if isinstance(node, ast.Constant) and node.value is None else UNKNOWN


def _argument(call: ast.Call, position: int, keyword: str, known: dict[str, str]):
    """The call's argument at `position` or named `keyword`: its string, None when absent, UNKNOWN
    when the code computes it (a starred argument makes every later position unknown)."""
    for i, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            return UNKNOWN
        if i == position:
            return _value(arg, known)
    if any(k.arg is None for k in call.keywords):
        return UNKNOWN  # **kwargs
    return _value(next((k.value for k in call.keywords if k.arg == keyword), None), known)


def namespaces(units: list[Unit], entry_name: str) -> list[tuple[list[Unit], dict[str, str]]]:
    """Units that share one namespace, with the constants they define: a notebook's cells run in
    one kernel; each .py file is a module of its own."""
    cells = [u for u in units if u.label.startswith(entry_name + " cell ")]
    groups = [cells] if cells else []
    groups += [[u] for u in units if u not in cells]
    return [(group, constants([u.tree for u in group])) for group in groups]


# What the offline hooks (grader_hooks/offline.py) look at: datasets.load_dataset(path, name) and
# evaluate.load(path, config_name); models resolve through the hub cache by their first argument.
HUB_CALLS = (("model", ("from_pretrained",), "pretrained_model_name_or_path", None), ("dataset", ("load_dataset",), "path", "name"),
             ("metric", ("load", "load_metric"), "path", "config_name"))  # fmt: skip


def _computed(kind: str, call: ast.Call, where: str, served: set[str]) -> str:
    return (
        f"{kind} {ast.unparse(call)} ({where}) is named by a value the code computes at run time, not known here; "
        f"the grader serves {', '.join(sorted(served))} (the short run shows what it loads)"
    )


def _served(kind: str, path: str, name: str | None, served: set[str]) -> bool:
    """As the run will see it: datasets and metrics through the offline hook's own matching, models
    by the hub cache's names."""
    if kind == "model":
        return path.lower() in served
    return offline_hook.match([{"names": sorted(served)}], path, name) is not None


def hub_names(units: list[Unit], served: dict[str, set[str]], entry_name: str = "") -> list[Item]:
    """Each hub name the code loads, resolved as the hooks would see it: served, not served, or
    (a value computed at run time) one the static pass cannot tell, left to the short run."""
    items, seen = [], set()
    for group, known in namespaces(units, entry_name):
        saved = {_argument(c, 0, "save_directory", known) for u in group for c in calls(u.tree, "save_pretrained", "save_model")}
        for unit in group:
            for kind, functions, first, second in HUB_CALLS:
                for call in calls(unit.tree, *functions):
                    if kind == "metric" and not (isinstance(call.func, ast.Attribute) and ast.unparse(call.func.value) == "evaluate"):
                        continue
                    path = _argument(call, 0, first, known)
                    name = _argument(call, 1, second, known) if second else None
                    where = f"{unit.label}, line {call.lineno}"
                    if path is None or path is UNKNOWN and kind == "model":
                        continue  # a model path from a variable such as $GRADER_MODEL_DIR: nothing to look up
                    if path is not UNKNOWN and (path.startswith((".", "/", "~")) or kind == "dataset" and path in LOCAL_LOADERS):
                        continue
                    if kind == "model" and path in saved:
                        continue  # a folder the code itself saves to (reloading its adapter): local, not the hub
                    if path is UNKNOWN or name is UNKNOWN:
                        if (kind, ast.unparse(call)) not in seen:
                            seen.add((kind, ast.unparse(call)))
                            items.append(Item(WARNING, "offline names", _computed(kind, call, where, served[kind])))
                        continue
                    full = "/".join(p for p in (path, name) if p)
                    if (kind, full) in seen:
                        continue
                    seen.add((kind, full))
                    if _served(kind, path, name, served[kind]):
                        items.append(Item(OK, "offline names", f"{kind} {full!r} ({where}) is served offline by the grader"))
                    else:
                        known_names = ", ".join(sorted(served[kind]))
                        items.append(
                            Item(PROBLEM, "offline names", f"{kind} {full!r} ({where}) is not served offline; use one of: {known_names}")
                        )
    if not items:
        items.append(Item(INFO, "offline names", "no hub names in the code (paths from $GRADER_MODEL_DIR and $GRADER_DATA_DIR need none)"))
    return items


def read(units: list[Unit], hub: tuple[str, ...], entry_name: str) -> list[Item]:
    return hub_names(units, served_names(hub), entry_name)
