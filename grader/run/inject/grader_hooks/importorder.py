"""Note when transformers, peft or torch is imported before mindnlp.

Under MindNLP, `import mindnlp` must come first (it installs its mindtorch back end); otherwise
the imports fail in ways that do not name the cause. A meta-path finder sees the import start
(even one that then fails) and leaves a marker line on stderr for the grader's diagnosis. It
never imports anything itself and never changes how the import resolves.
"""

import importlib.abc
import sys

WATCHED = ("transformers", "peft", "torch")
MARKER = "[grader] import order:"


class _Watcher(importlib.abc.MetaPathFinder):
    def __init__(self):
        self.reported = set()

    def find_spec(self, fullname, path, target=None):
        if fullname in WATCHED and fullname not in self.reported and "mindnlp" not in sys.modules:
            self.reported.add(fullname)
            print(f"{MARKER} {fullname} was imported before mindnlp", file=sys.stderr, flush=True)
        return None


def install():
    sys.meta_path.insert(0, _Watcher())
