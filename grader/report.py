"""Render the per-student HTML report from the results model with jinja2."""

from __future__ import annotations

from jinja2 import Environment, FileSystemLoader, select_autoescape

from .paths import TEMPLATES_DIR
from .results import GradingResult


def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html", "j2"]))


def render(result: GradingResult) -> str:
    return _environment().get_template("report.html.j2").render(r=result, checks=result.checks)
