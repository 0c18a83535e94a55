"""Process tests in the designer area: "Probar escenarios" on a version page.

The page plays every scenario (``tests/*.json``) of a deployed version
against the engine, each in a throwaway database, and shows each step
passed or failed with expected against actual values, and one scenario's
path on the diagram (the same viewer as the case page). Nothing is stored,
so the page is a plain GET: running it again is reloading it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from flask_babel import gettext

from engine.domain.errors import BundleInvalid
from engine.domain.scenarios import ScenarioResult, StepResult
from engine.services import scenarios
from webapp.designer import ProblemRow, bp
from webapp.helpers import current_actor, platform, translate


@dataclass(frozen=True)
class StepRow:
    """One step of a scenario, ready to show."""

    number: int
    kind: str
    label: str
    state: str
    problem: str
    checks: list[Any]
    path: list[str]
    at: Any


def _state(step: StepResult) -> str:
    """``passed``, ``failed`` or ``skipped`` (not run after a failure)."""
    if step.passed is None:
        return "skipped"
    return "passed" if step.passed else "failed"


def _step_rows(result: ScenarioResult) -> list[StepRow]:
    """A scenario's steps, translated."""
    return [
        StepRow(
            number=step.number,
            kind=step.kind,
            label=translate(step.label),
            state=_state(step),
            problem=translate(step.problem) if step.problem else "",
            checks=step.checks,
            path=[result.names.get(i) or i for i in step.path],
            at=step.at,
        )
        for step in result.steps
    ]


def _shown(results: list[ScenarioResult], wanted: str | None) -> ScenarioResult | None:
    """The scenario whose path the diagram shows: the one asked for, else the
    first that failed, else the first."""
    for result in results:
        if result.file == wanted:
            return result
    failed = [r for r in results if not r.passed]
    return next(iter(failed or results), None)


@bp.get("/<tipo>/v/<int:n>/escenarios")
def scenario_results(tipo: str, n: int) -> Any:
    """Play the version's scenarios and show the results."""
    actor = current_actor()
    assert actor is not None  # designers_only let the request in
    try:
        report = scenarios.version_scenarios(platform(), actor, tipo, n)
    except BundleInvalid as exc:
        problems = [
            ProblemRow(p.file, p.element or "", translate(p.message), p.severity)
            for p in exc.problems
        ]
        return (
            render_template(
                "designer/scenarios.html",
                tipo=tipo,
                n=n,
                report=None,
                problems=problems,
                caption=gettext("Los escenarios no se pudieron leer"),
            ),
            422,
        )
    shown = _shown(report.results, request.args.get("escenario"))
    return render_template(
        "designer/scenarios.html",
        tipo=tipo,
        n=n,
        report=report,
        problems=[],
        rows={r.file: _step_rows(r) for r in report.results},
        shown=shown,
    )
