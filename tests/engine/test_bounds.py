"""Designer code is bounded: runaway scripts and unstorable values fail their
own case only -- at intake, on completing a task, and in the worker -- and
deploy refuses what it can already see."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from engine import services
from engine.bundles import registry
from engine.domain.clock import FrozenClock
from engine.domain.errors import BundleInvalid, ProcessFailed
from engine.services.accounts import authenticate, seed_demo
from engine.services.platform import Platform
from engine.store.models import Case, CaseEvent, HumanTask
from engine.workflow import script_bounds
from engine.workflow.calendar import PANAMA
from engine.workflow.script_compiler import check_script
from engine.workflow.scripting import RestrictedEnvironment
from tests.conftest import IDENTITY_KEY

BUNDLE = (
    Path(__file__).resolve().parent.parent / "fixtures" / "bundles" / "temporizador"
)

#: Runaway shapes that only show at run time (deploy cannot see them).
RUNAWAYS = {
    "endless-loop": "x = divisor\nwhile x > 0:\n    x = x + 1",
    "big-power": "x = divisor ** divisor ** divisor",
    "huge-repetition": "s = 'a' * (divisor * 150000000)",
    "big-shift": "x = divisor << (divisor * 10000000)",
    "memory": "l = []\nwhile divisor > 0:\n    l.append([0] * 100000)",
    "huge-join": "s = 'ab' * 100000\nt = s.join([s] * 1000)",
}

#: Values a script can leave that the workflow state cannot hold.
UNSTORABLE = {
    "huge-int": "x = divisor ** 5000",
    "generator": "g = (i for i in [1, 2])",
    "range": "r = range(3)",
    "exception": "e = ValueError('x')",
}


def bundle(
    *, intake: str = "", after_timer: str = "resultado = 10 / divisor", post: str = ""
) -> dict[str, str]:
    """The timer fixture with scripts swapped in.

    ``intake`` runs while the case is filed, ``after_timer`` when the worker
    fires the timer, ``post`` when the agent completes "Revisar".
    """
    files = registry.read_bundle_dir(BUNDLE)
    xml = files["temporizador.bpmn"]
    first = "vence = plazo_habil(1)"
    xml = xml.replace(
        f"<bpmn:script>{first}</bpmn:script>",
        f"<bpmn:script>{escape(first + chr(10) + intake)}</bpmn:script>",
    )
    xml = xml.replace(
        "<bpmn:script>resultado = 10 / divisor</bpmn:script>",
        f"<bpmn:script>{escape(after_timer)}</bpmn:script>",
    )
    if post:
        xml = xml.replace(
            '<spiffworkflow:property name="estado" value="Revisado" />\n'
            "        </spiffworkflow:properties>",
            '<spiffworkflow:property name="estado" value="Revisado" />\n'
            "        </spiffworkflow:properties>\n"
            f"        <spiffworkflow:postScript>{escape(post)}"
            "</spiffworkflow:postScript>",
        )
        assert "postScript" in xml
    files["temporizador.bpmn"] = xml
    return files


@pytest.fixture
def clock() -> FrozenClock:
    """Friday 2026-10-30, 10:00 in Panama."""
    return FrozenClock(datetime(2026, 10, 30, 10, 0, tzinfo=PANAMA))


@pytest.fixture
def p(db_url: str, clock: FrozenClock):
    """A platform on a frozen clock (default bounds: 1 s, 64 MiB)."""
    platform = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    yield platform
    platform.close()


def deploy(p: Platform, files: dict[str, str]) -> None:
    """Deploy a variant of the fixture."""
    services.deploy_version(p, files, deployed_by="tests")


def case_rows(p: Platform) -> list[Case]:
    """Every case, oldest first."""
    with p.db.read() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def timed(call, *args, **kwargs) -> tuple[float, BaseException | None]:
    """Run a call; (seconds it took, the exception it raised or None)."""
    started = time.monotonic()
    try:
        call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the tests inspect it
        return time.monotonic() - started, exc
    return time.monotonic() - started, None


# --- Deploy refuses what it can see --------------------------------------------


@pytest.mark.parametrize(
    ("source", "mode"),
    [
        ("while True:\n    pass", "exec"),
        ("x = 10**10**10", "exec"),
        ("x = 'a' * 1500000000", "exec"),
        ("10**10**10 > 0", "eval"),
        ("x = 1 << 10**9", "exec"),
        ("try:\n    x = 1\nexcept Exception:\n    pass", "exec"),
        ("class A:\n    pass", "exec"),
        ("x = (yield)", "exec"),
    ],
)
def test_check_script_refuses_what_it_can_see(source: str, mode: str) -> None:
    """Each shape is a listed problem, not a crash and not a deploy."""
    assert check_script(source, mode), source


def test_deploy_lists_runaway_scripts_with_their_element() -> None:
    """A bundle with a visible runaway is refused, naming the element."""
    files = bundle(intake="x = 10**10**10", after_timer="while True:\n    pass")
    with pytest.raises(BundleInvalid) as caught:
        registry.parse_bundle(files)
    elements = {problem.element for problem in caught.value.problems}
    assert {"fijar_plazo", "calcular"} <= elements


def test_while_with_break_is_accepted() -> None:
    """A loop with a way out is normal code."""
    assert (
        check_script("n = 0\nwhile True:\n    n += 1\n    if n > 3:\n        break")
        == []
    )


# --- The environment itself ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(RUNAWAYS))
def test_runaway_shapes_stop_within_the_bound(name: str) -> None:
    """Each runaway ends with ScriptLimitExceeded in about the time bound."""
    env = RestrictedEnvironment({})
    took, error = timed(env.execute, RUNAWAYS[name], {"divisor": 10})
    assert isinstance(error, script_bounds.ScriptLimitExceeded), error
    assert took < 3.0, f"{name} took {took:.2f} s"


def test_runaway_condition_stops() -> None:
    """A condition is bounded like a script."""
    env = RestrictedEnvironment({})
    took, error = timed(
        env.evaluate, "divisor ** divisor ** divisor > 0", {"divisor": 10}
    )
    assert isinstance(error, script_bounds.ScriptLimitExceeded)
    assert took < 1.0


def test_bounds_are_configurable() -> None:
    """A shorter time bound stops the same loop sooner."""
    env = RestrictedEnvironment({})
    script_bounds.configure(script_bounds.ScriptBounds(time_s=0.2))
    try:
        took, error = timed(env.execute, RUNAWAYS["endless-loop"], {"divisor": 1})
    finally:
        script_bounds.configure(script_bounds.ScriptBounds())
    assert isinstance(error, script_bounds.ScriptLimitExceeded)
    assert 0.15 < took < 1.0


def test_normal_scripts_still_work() -> None:
    """Comprehensions, joins, f-strings and arithmetic within the bounds."""
    env = RestrictedEnvironment({})
    data: dict = {"n": 5}
    env.execute(
        "xs = [i * i for i in range(n)]\n"
        "total = sum(xs)\n"
        "texto = '-'.join(str(x) for x in xs)\n"
        "fila = f'{total:>6}|{n!r:<3}|'\n"
        "p = 2 ** 10 + n % 3\n",
        data,
    )
    assert data["total"] == 30
    assert data["texto"] == "0-1-4-9-16"
    assert data["fila"] == "    30|5  |"
    assert data["p"] == 1026


def test_endless_diagram_loop_fails_the_step() -> None:
    """A loop through the diagram itself (no script to trace) hits the step bound."""
    script_bounds.configure(script_bounds.ScriptBounds(step_tasks=50))
    try:
        with (
            script_bounds.step() as did_complete,
            pytest.raises(script_bounds.ScriptLimitExceeded, match="ciclo"),
        ):
            for _ in range(100):
                did_complete(None)
    finally:
        script_bounds.configure(script_bounds.ScriptBounds())


# --- At intake: the filing fails clearly, nothing stored, nobody waits ---------------


@pytest.mark.parametrize("name", ["endless-loop", "big-power", "memory"])
def test_runaway_at_intake_fails_clearly_and_stores_nothing(p, name) -> None:
    """The citizen gets ProcessFailed in about the bound; no case, no number."""
    deploy(p, bundle(intake=RUNAWAYS[name]))
    took, error = timed(services.open_case, p, "temporizador", {"divisor": 10})
    assert isinstance(error, ProcessFailed), error
    assert "(fijar_plazo)" in str(error)  # the element that failed
    assert took < 4.0, f"{name} took {took:.2f} s"
    assert case_rows(p) == []


def test_runaway_filing_holds_no_lock_other_filings_need(db_url, clock) -> None:
    """While one filing spins, another files and gets its number at once."""
    p = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    try:
        deploy(p, bundle(intake="x = divisor\nwhile x > 9:\n    x = x + 1"))
        finished: dict[str, float] = {}

        def runaway() -> None:
            timed(services.open_case, p, "temporizador", {"divisor": 10})
            finished["runaway"] = time.monotonic()

        thread = threading.Thread(target=runaway)
        thread.start()
        time.sleep(0.2)  # let it start spinning
        started = time.monotonic()
        opened = services.open_case(p, "temporizador", {"divisor": 9})
        finished["normal"] = time.monotonic()
        thread.join(10)
        assert not thread.is_alive()
        assert finished["normal"] - started < 0.8
        assert finished["normal"] < finished["runaway"]
        assert [c.number for c in case_rows(p)] == [opened.number]
    finally:
        p.close()


@pytest.mark.parametrize("name", sorted(UNSTORABLE))
def test_unstorable_value_at_intake_is_a_clear_failure(p, name) -> None:
    """A value the state cannot hold: ProcessFailed, nothing half-stored."""
    deploy(p, bundle(intake=UNSTORABLE[name]))
    error = timed(services.open_case, p, "temporizador", {"divisor": 10})[1]
    assert isinstance(error, ProcessFailed), error
    assert case_rows(p) == []
    # The sequence was not consumed: the next good filing gets number 1.
    deploy(p, bundle())
    opened = services.open_case(p, "temporizador", {"divisor": 2})
    assert opened.number.endswith("-000001")


# --- Completing a task: the case is flagged, nothing half-stored -----------------


def only_when_ten(script: str) -> str:
    """``script`` run only by the case filed with ``divisor == 10``."""
    body = script.replace("\n", "\n    ")
    return f"if divisor == 10:\n    {body}\nresultado = 1"


def ready_task(p: Platform, case_id: int) -> HumanTask:
    """The case's ready task."""
    with p.db.read() as s:
        return s.scalars(
            select(HumanTask).where(
                HumanTask.case_id == case_id, HumanTask.state == "ready"
            )
        ).one()


@pytest.mark.parametrize(
    "script",
    [RUNAWAYS["endless-loop"], UNSTORABLE["generator"], UNSTORABLE["huge-int"]],
)
def test_failing_completion_flags_the_case(p, clock, script) -> None:
    """The agent gets ProcessFailed; the task stays ready; the case is flagged."""
    seed_demo(p, "demo311")  # the completion names a real user
    agent = authenticate(p, "agente", "demo311", client="tests")
    deploy(p, bundle(post=script))
    # 10 ** 5000 has more digits than a state may hold (2 ** 5000 would not).
    services.open_case(p, "temporizador", {"divisor": 10})
    clock.advance(days=4)
    assert services.fire_due_timers(p) == 1
    case = case_rows(p)[0]
    task = ready_task(p, case.id)
    took, error = timed(services.complete_task, p, agent, task.id, {})
    assert isinstance(error, ProcessFailed), error
    assert took < 4.0
    after = case_rows(p)[0]
    assert after.error and after.public_status == case.public_status
    assert ready_task(p, case.id).id == task.id


# --- In the worker: flagged, the batch goes on ----------------------------------------


@pytest.mark.parametrize(
    "script",
    [RUNAWAYS["endless-loop"], RUNAWAYS["big-power"], *UNSTORABLE.values()],
)
def test_worker_flags_the_failing_case_and_fires_the_others(p, clock, script) -> None:
    """Failing cases are flagged with the error; good cases of the batch advance."""
    deploy(
        p,
        bundle(after_timer=only_when_ten(script)),
    )
    bad = services.open_case(p, "temporizador", {"divisor": 10})
    good = services.open_case(p, "temporizador", {"divisor": 2})
    clock.advance(days=4)
    took, error = timed(services.fire_due_timers, p)
    assert error is None, error
    assert took < 5.0
    by_number = {c.number: c for c in case_rows(p)}
    assert by_number[bad.number].error
    assert by_number[good.number].error is None
    assert by_number[good.number].public_status == "Revisado"
    with p.db.read() as s:
        flagged = s.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "error")
        )
    assert flagged == 1
    # Flagged cases are skipped from then on: the next pass does nothing.
    assert services.fire_due_timers(p) == 0
