"""Process tests: play a bundle's scenarios against the real engine (the runner).

Every scenario (:mod:`engine.bundles.scenario_files`) runs in a sandbox of
its own (:mod:`engine.services.scenario_sandbox`) through the same services
people use: the case is filed with :func:`~engine.services.intake.open_case`,
each expected user task is completed with
:func:`~engine.services.tasks.complete_task` as a user of the task's lane
(the citizen's through the tracking path), and clock advances run the
worker's :func:`~engine.services.worker.fire_due_timers` at each timer's
moment on a frozen clock, as a worker running all along would (the steps
are :mod:`engine.services.scenario_steps`). Each step
reports passed or failed, with expected against actual, and the elements it
went through (the path shown on the diagram).

Every deploy and ``flask validate`` call :func:`require_passing`: a failing
scenario refuses the bundle, naming the scenario and the step. A bundle
whose scenarios passed once is not played again in the same process (the
result depends on the bundle's files alone).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from engine.bundles.registry import ParsedVersion, SpecCache, content_hash
from engine.bundles.scenario_files import LOCAL_ZONE, Scenario, Step, read_scenarios
from engine.domain.clock import FrozenClock
from engine.domain.errors import N_, BundleInvalid, Message, Problem
from engine.domain.scenarios import ScenarioResult, StepResult
from engine.services.scenario_sandbox import Observed, Sandbox, observe, sandbox
from engine.services.scenario_steps import (
    StepFailed,
    advance_clock,
    compare,
    do_task,
    file_case,
)

#: Longest a whole bundle's scenarios may take, in seconds of real time.
BUDGET_S = 60.0

_passed_lock = threading.Lock()
_passed: OrderedDict[str, None] = OrderedDict()


def run_scenarios(
    files: dict[str, str],
    *,
    specs: SpecCache | None = None,
    parsed: ParsedVersion | None = None,
    budget_s: float = BUDGET_S,
) -> list[ScenarioResult]:
    """Play every scenario of a bundle; one result per scenario file.

    ``parsed`` is the bundle already parsed (else it is parsed here, through
    ``specs`` when given). Raises :class:`BundleInvalid` when the bundle or a
    scenario file is invalid.
    """
    specs = specs or SpecCache()
    if parsed is None:
        # Every problem of the bundle, the scenarios' format included.
        parsed = specs.get(content_hash(files), lambda: files)
    scenarios, problems = read_scenarios(files)
    if problems:
        raise BundleInvalid(problems)
    if not scenarios:
        return []
    codes = sorted({c for s in scenarios for c in s.entity_codes()})
    first = min(s.start for s in scenarios)
    with sandbox(files, parsed, specs, codes, first) as prepared:
        deadline = time.monotonic() + budget_s
        return [_play(prepared, s, deadline, budget_s) for s in scenarios]


def require_passing(
    files: dict[str, str],
    *,
    specs: SpecCache | None = None,
    parsed: ParsedVersion | None = None,
) -> None:
    """Raise :class:`BundleInvalid` naming each failing scenario and step."""
    key = content_hash(files)
    with _passed_lock:
        if key in _passed:
            return
    results = run_scenarios(files, specs=specs, parsed=parsed)
    problems = [p for r in results for p in failure_problems(r)]
    if problems:
        raise BundleInvalid(problems)
    with _passed_lock:
        _passed[key] = None
        while len(_passed) > 256:
            _passed.popitem(last=False)


def failure_problems(result: ScenarioResult) -> list[Problem]:
    """A bundle problem per failed step of a scenario (none when it passed)."""
    found: list[Problem] = []
    for step in result.steps:
        where = step.label
        if step.kind not in ("intake", "final"):
            where = Message(
                N_("paso %(n)s (%(what)s)"), {"n": step.number, "what": step.label}
            )
        if step.problem is not None:
            found.append(
                Problem(
                    result.file,
                    step.task,
                    Message(
                        N_("Escenario «%(scenario)s», %(step)s: %(detail)s"),
                        {
                            "scenario": result.name,
                            "step": where,
                            "detail": step.problem,
                        },
                    ),
                )
            )
        for check in step.failed_checks:
            found.append(
                Problem(
                    result.file,
                    step.task,
                    Message(
                        N_(
                            "Escenario «%(scenario)s», %(step)s: se esperaba "
                            "%(field)s = %(expected)s, pero resultó %(actual)s."
                        ),
                        {
                            "scenario": result.name,
                            "step": where,
                            "field": check.field,
                            "expected": check.expected,
                            "actual": check.actual,
                        },
                    ),
                )
            )
    return found


# --------------------------------------------------------------------------
# Playing one scenario


def _play(
    prepared: Sandbox, scenario: Scenario, deadline: float, budget_s: float
) -> ScenarioResult:
    """Run one scenario in a fresh copy of the prepared sandbox.

    The first failed action (filing, a task, an advance) stops it: the steps
    after it are reported as not run. A failed expectation does not.
    """
    started = time.monotonic()
    clock = FrozenClock(scenario.start.astimezone(LOCAL_ZONE))
    p = prepared.platform(clock, scenario.days_off)
    parsed = prepared.parsed
    names = {i: t.name for i, t in parsed.tasks.items() if t.name}
    steps: list[StepResult] = []
    seen_path: list[str] = []
    number: str | None = None
    stopped = False
    last: Observed | None = None
    try:
        label = Message(N_("registro"))
        try:
            number = file_case(prepared, p, scenario)
            last = observe(p, parsed, number)
            steps.append(
                _result(0, "intake", label, clock, last, seen_path, None, None, names)
            )
        except StepFailed as exc:
            steps.append(
                StepResult(0, "intake", label, False, clock(), problem=exc.message)
            )
            stopped = True
        for step in scenario.steps:
            label = _step_label(step)
            kind = "task" if step.task else "advance" if step.advance else "expect"
            if stopped or number is None:
                steps.append(StepResult(step.number, kind, label, None, task=step.task))
                continue
            if time.monotonic() > deadline:
                stopped = True
                steps.append(
                    StepResult(
                        step.number,
                        kind,
                        label,
                        False,
                        clock(),
                        step.task,
                        Message(
                            N_("Se acabó el tiempo de las pruebas (%(seconds)s s)."),
                            {"seconds": round(budget_s)},
                        ),
                    )
                )
                continue
            try:
                if step.task and last is not None:
                    do_task(prepared, p, number, step, last)
                elif step.advance:
                    advance_clock(p, clock, number, step, scenario)
                last = observe(p, parsed, number)
                steps.append(
                    _result(
                        step.number,
                        kind,
                        label,
                        clock,
                        last,
                        seen_path,
                        step.expect,
                        step.task,
                        names,
                    )
                )
            except StepFailed as exc:
                stopped = True
                steps.append(
                    StepResult(
                        step.number, kind, label, False, clock(), step.task, exc.message
                    )
                )
        final = Message(N_("resultado final"))
        end = len(scenario.steps) + 1
        if scenario.expect is not None:
            if stopped or last is None:
                steps.append(StepResult(end, "final", final, None))
            else:
                steps.append(
                    _result(
                        end,
                        "final",
                        final,
                        clock,
                        last,
                        list(last.path),
                        scenario.expect,
                        None,
                        names,
                    )
                )
    finally:
        p.close()
    return ScenarioResult(
        file=scenario.file,
        name=scenario.name,
        description=scenario.description,
        passed=all(s.passed for s in steps),
        steps=steps,
        path=list(last.path) if last else [],
        current=list(last.current) if last else [],
        names=names,
        seconds=time.monotonic() - started,
    )


#: How each kind of clock advance reads, when a step uses only that one.
_ADVANCES = {
    "to": N_("avanzar el reloj hasta %(value)s"),
    "business_days": N_("avanzar el reloj %(value)s días hábiles"),
    "days": N_("avanzar el reloj %(value)s días"),
    "hours": N_("avanzar el reloj %(value)s horas"),
    "minutes": N_("avanzar el reloj %(value)s minutos"),
}


def _step_label(step: Step) -> Message:
    """What a step does, for the report."""
    if step.task:
        return Message(N_("tarea «%(task)s»"), {"task": step.task})
    if step.advance:
        if len(step.advance) == 1:
            ((key, value),) = step.advance.items()
            return Message(_ADVANCES[key], {"value": value})
        parts = ", ".join(f"{k}: {v}" for k, v in step.advance.items())
        return Message(N_("avanzar el reloj (%(how)s)"), {"how": parts})
    return Message(N_("comprobación"))


def _result(
    number: int,
    kind: str,
    label: Message,
    clock: FrozenClock,
    seen: Observed,
    seen_path: list[str],
    expect: dict[str, Any] | None,
    task: str | None,
    names: dict[str, str],
) -> StepResult:
    """A step that ran: its new path elements and its expectations."""
    new = seen.path[len(seen_path) :] if number else seen.path
    seen_path[:] = seen.path
    checks = compare(expect, seen, names) if expect else []
    return StepResult(
        number,
        kind,
        label,
        all(c.passed for c in checks),
        clock(),
        task,
        None,
        checks,
        list(new),
    )
