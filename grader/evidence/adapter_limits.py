"""What of an adapter's config may reach PEFT. PEFT reads several fields as regular expressions
(a string target_modules, feedforward_modules or exclude_modules is re.fullmatch-ed against every
module name; each modules_to_save entry and layers_pattern is put inside one), so their types,
lengths and counts are checked and each pattern must compile quickly. How long a pattern takes
to match cannot be bounded beforehand in Python's `re`: that is what the evaluation's own
deadline is for (evaluator.py), and `regex_fields` names them for its message."""

from __future__ import annotations

import re
import time

PATTERN_FIELDS = ("target_modules", "feedforward_modules", "exclude_modules", "modules_to_save", "layers_pattern")
MAX_NAMES = 256  # entries of one list; RoBERTa-large has ~400 modules, a course config names 3
MAX_CHARS = 256  # characters of one name or pattern
MAX_COMPILE_SECONDS = 0.5


def problem(config: dict) -> str | None:
    """Why `config` must not reach PEFT, or None."""
    if not isinstance(config, dict):
        return "adapter_config.json does not hold a JSON object"
    for key in PATTERN_FIELDS:
        value = config.get(key)
        if value is None:
            continue
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return f"{key} must be a list of module names or one string (a regular expression), not {type(value).__name__}"
        if len(names) > MAX_NAMES:
            return f"{key} lists {len(names):,} names; at most {MAX_NAMES} are accepted"
        for name in names:
            if len(name) > MAX_CHARS:
                return f"{key} holds a name of {len(name):,} characters; at most {MAX_CHARS} are accepted"
            started = time.monotonic()
            try:
                re.compile(name)
            except (re.error, RecursionError, OverflowError) as exc:
                if isinstance(value, str):  # a list's names are plain names to PEFT; only a string must be a pattern
                    return f"{key} is not a valid regular expression ({exc})"
            if time.monotonic() - started > MAX_COMPILE_SECONDS:
                return f"{key} holds a pattern that takes over {MAX_COMPILE_SECONDS} s to compile"
    return None


def regex_fields(config: dict) -> list[str]:
    """The config's fields PEFT matches as one regular expression, shown as `field 'pattern'`."""
    if not isinstance(config, dict):
        return []
    shown = []
    for key in PATTERN_FIELDS:
        value = config.get(key)
        if isinstance(value, str):
            shown.append(f"{key} {value[:80]!r}" + ("…" if len(value) > 80 else ""))
    return shown
