"""The checks: each module registers its checks with `registry.check`; importing this package
registers them all, in the order below, which is the order of a judgement's checks."""

from grader.checks import run_checks  # isort: skip  # noqa: F401  (the run's checks come first)
from grader.checks import adapter_checks, data_checks, metric_checks, probe_checks  # noqa: F401  (they register their checks)
from grader.checks.registry import REGISTRY


def known_ids() -> list[str]:
    return list(REGISTRY)
