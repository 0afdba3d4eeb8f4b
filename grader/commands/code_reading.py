"""What `grade check` can tell from a submission's code without running it, in well under a
second: the notebook is valid, the code parses, which MindNLP API it is written for, whether
mindnlp is imported first, how IA3 is configured, where the adapter is saved, and whether the
hub names it loads are ones the grader serves offline.

This reads the code as text: a value computed at run time is not known here, so it is named as
such rather than judged. The short run that follows observes what really happens.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from grader.commands import offline_names
from grader.commands.code_items import INFO, OK, PROBLEM, WARNING, Item, Unit, calls, literal
from grader.course.calibration import Structure
from grader.evidence.diagnose import MINDNLP_04_MODULES
from grader.run.inject.grader_hooks.importorder import WATCHED as BEFORE_MINDNLP

SAVERS = ("save_pretrained", "save_model")


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    text = "".join(source) if isinstance(source, list) else str(source)
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in text.splitlines())  # magics


def read_units(root: Path, entry: Path) -> tuple[list[Unit], list[Item]]:
    """The entry (a script, or a notebook's code cells in order), then the other .py files."""
    units, items = [], []
    sources: list[tuple[str, str]] = []
    if entry.suffix == ".ipynb":
        try:
            notebook = json.loads(entry.read_text(encoding="utf-8"))
            cells = notebook["cells"]
            if not isinstance(cells, list):
                raise TypeError("cells is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            return [], [
                Item(PROBLEM, "notebook", f"{entry.name} is not a valid notebook ({type(exc).__name__}: {exc}): save it again from Jupyter")
            ]
        code = [c for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]
        items.append(Item(OK, "notebook", f"{entry.name} is valid notebook JSON with {len(code)} code cells"))
        sources += [(f"{entry.name} cell {n}", _cell_source(c)) for n, c in enumerate(code, 1)]
    else:
        sources.append((entry.name, entry.read_text(encoding="utf-8", errors="replace")))
    others = sorted(p for p in root.rglob("*.py") if p != entry and not any(part.startswith(".") for part in p.relative_to(root).parts))
    sources += [(p.relative_to(root).as_posix(), p.read_text(encoding="utf-8", errors="replace")) for p in others]
    for label, text in sources:
        try:
            units.append(Unit(label, ast.parse(text)))
        except SyntaxError as exc:
            items.append(Item(PROBLEM, "syntax", f"{label}, line {exc.lineno}: {exc.msg}"))
    return units, items


def _imports(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return sorted(found)


def _of_entry(label: str, entry_name: str) -> bool:
    return label == entry_name or label.startswith(entry_name + " cell ")


def mindnlp_api(units: list[Unit], entry_name: str) -> list[Item]:
    """Which MindNLP generation the code is written for, and whether the entry imports mindnlp first."""
    modules = [(u, line, m) for u in units for line, m in _imports(u.tree)]
    old = sorted({m for _, _, m in modules if m.startswith(MINDNLP_04_MODULES)})
    items = []
    if old:
        items.append(
            Item(PROBLEM, "MindNLP API", f"written for MindNLP 0.4 ({', '.join(old)}), which MindNLP 0.5 removed: use Hugging Face "
                 "transformers/peft after `import mindnlp` (torch.autograd.value_and_grad for gradients)")
        )  # fmt: skip
    entry_imports = [(u.label, line, m) for u, line, m in modules if _of_entry(u.label, entry_name)]
    first_mindnlp = next(((label, line) for label, line, m in entry_imports if m.split(".")[0] == "mindnlp"), None)
    if first_mindnlp is None:
        items.append(
            Item(
                PROBLEM,
                "import order",
                f"{entry_name} never imports mindnlp: start it with `import mindnlp` (before transformers, peft, torch)",
            )
        )
    else:
        early = [(label, line, m) for label, line, m in entry_imports if m.split(".")[0] in BEFORE_MINDNLP][:1]
        if early and (units_order(early[0][0], units), early[0][1]) < (units_order(first_mindnlp[0], units), first_mindnlp[1]):
            label, line, module = early[0]
            items.append(
                Item(PROBLEM, "import order", f"{label}, line {line} imports {module} before mindnlp: move `import mindnlp` above it")
            )
        else:
            items.append(Item(OK, "import order", f"mindnlp is imported first ({first_mindnlp[0]}, line {first_mindnlp[1]})"))
        if not old:
            items.append(Item(OK, "MindNLP API", "MindNLP 0.5 style: mindnlp first, then Hugging Face transformers/peft"))
    return items


def units_order(label: str, units: list[Unit]) -> int:
    return next(i for i, u in enumerate(units) if u.label == label)


def ia3_config(units: list[Unit], structure: Structure) -> list[Item]:
    configs = [(u, c) for u in units for c in calls(u.tree, "IA3Config")]
    if not configs:
        other = sorted(
            {n for u in units for n in ("LoraConfig", "PrefixTuningConfig", "PromptTuningConfig", "AdaLoraConfig") if calls(u.tree, n)}
        )
        why = f"found {', '.join(other)} instead" if other else "none found"
        return [Item(PROBLEM, "IA3", f"no IA3Config(...) call ({why}): the homework fine-tunes with IA3")]
    unit, call = configs[0]
    where = f"{unit.label}, line {call.lineno}"
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    items = []
    task = keywords.get("task_type")
    task_text = ast.unparse(task) if task is not None else ""
    if "SEQ_CLS" in task_text:
        items.append(Item(OK, "IA3", f"IA3Config for sequence classification ({where})"))
    else:
        items.append(
            Item(PROBLEM, "IA3", f'IA3Config at {where} has task_type={task_text or "unset"}: use TaskType.SEQ_CLS (or "SEQ_CLS")')
        )
    for key, reference in (("target_modules", structure.target_modules), ("feedforward_modules", structure.feedforward_modules)):
        if key not in keywords:
            items.append(Item(OK, "IA3", f"{key} left to PEFT's RoBERTa default (the reference's: {', '.join(sorted(reference))})"))
            continue
        value = literal(keywords[key])
        if value is None:
            items.append(
                Item(INFO, "IA3", f"{key} is computed at run time ({ast.unparse(keywords[key])}): the short run shows what it gives")
            )
        elif sorted(value if isinstance(value, list | tuple) else [value]) == sorted(reference):
            items.append(Item(OK, "IA3", f"{key} = {sorted(value)}, as the reference"))
        else:
            items.append(Item(PROBLEM, "IA3", f"{key} = {value!r} at {where}; the reference uses {sorted(reference)}"))
    if not any(calls(u.tree, "get_peft_model") or calls(u.tree, "from_pretrained") and "PeftModel" in ast.unparse(u.tree) for u in units):
        items.append(Item(WARNING, "IA3", "no get_peft_model(...) call: the IA3 config must be applied to the model"))
    return items


def adapter_saving(units: list[Unit]) -> list[Item]:
    saves = [(u, c) for u in units for c in calls(u.tree, *SAVERS)]
    mentions = any(isinstance(n, ast.Constant) and n.value == "GRADER_OUTPUT_DIR" for u in units for n in ast.walk(u.tree))
    if not saves:
        return [
            Item(
                PROBLEM,
                "adapter",
                'no save_pretrained(...) call: save the adapter with model.save_pretrained(os.environ["GRADER_OUTPUT_DIR"])',
            )
        ]
    unit, call = saves[0]
    if mentions:
        return [
            Item(
                OK, "adapter", f"saved with {ast.unparse(call.func)}(...) ({unit.label}, line {call.lineno}) and $GRADER_OUTPUT_DIR is read"
            )
        ]
    where = f"{unit.label}, line {call.lineno}"
    advice = 'the grader also searches your folder, but save to os.environ["GRADER_OUTPUT_DIR"] to be sure it grades this adapter'
    return [Item(WARNING, "adapter", f"{where} saves the adapter but the code never reads $GRADER_OUTPUT_DIR: {advice}")]


def read(root: Path, entry: Path, structure: Structure, hub: tuple[str, ...]) -> list[Item]:
    units, items = read_units(root, entry)
    if not any(_of_entry(u.label, entry.name) for u in units):
        return items  # nothing of the entry could be read: its problem is already listed
    return (
        items
        + mindnlp_api(units, entry.name)
        + ia3_config(units, structure)
        + adapter_saving(units)
        + offline_names.read(units, hub, entry.name)
    )
