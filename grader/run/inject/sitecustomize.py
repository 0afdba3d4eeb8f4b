"""Loaded by the student's interpreter at start-up (this folder is put first on PYTHONPATH).

It imports the hook modules named in GRADER_HOOKS (comma-separated, from the grader_hooks
package beside this file) and calls their install(). Standard library only, and nothing here
imports torch, transformers or peft: MindNLP must be imported first by the student's own code,
so hooks attach lazily, when those modules are first imported.
"""

import importlib
import os
import sys


def _install_hooks():
    for name in filter(None, (n.strip() for n in os.environ.get("GRADER_HOOKS", "").split(","))):
        try:
            importlib.import_module(f"grader_hooks.{name}").install()
        except Exception as exc:  # a broken hook must never break the student's run
            print(f"[grader] hook {name!r} not installed: {type(exc).__name__}: {exc}", file=sys.stderr)


_install_hooks()
