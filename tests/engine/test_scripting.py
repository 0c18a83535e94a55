"""Tests for restricted scripting: the environment, its compiler and guards."""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.workflow import script_compiler
from engine.workflow.script_compiler import (
    ScriptRejected,
    check_script,
    compile_script,
)
from engine.workflow.scripting import RestrictedEnvironment, make_script_engine


@pytest.fixture
def env() -> RestrictedEnvironment:
    """A plain environment without helpers."""
    return RestrictedEnvironment()


def _data() -> dict[str, Any]:
    """Fresh task data for one test."""
    return {
        "a": 1,
        "b": 3,
        "decision": "rechazar",
        "items": [1, 2, 3],
        "nombre": "  ana  ",
        "datos": {"x": 5, "lista": [1]},
    }


# --- evaluate ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("a + b > 3", True),
        ("a + b > 4", False),
        ('decision == "rechazar"', True),
        ("len(items) > 0", True),
        ("[i * b for i in items]", [3, 6, 9]),
        ("sum(i for i in items if i > a)", 5),
        ("{k: v for k, v in datos.items() if k == 'x'}", {"x": 5}),
        ('datos["x"]', 5),
        ("items[1:]", [2, 3]),
        ("nombre.strip().upper()", "ANA"),
        ("sorted(items, reverse=True)", [3, 2, 1]),
        ("max(items) + min(items)", 4),
        ("f'{a}-{b!r}'", "1-3"),
        ("'%s y %s' % (a, b)", "1 y 3"),
        ("isinstance(a, int) and round(2.6) == 3", True),
        ("list(zip(items, enumerate(items)))[0]", (1, (0, 1))),
        ("\n    a == 1\n  ", True),  # conditions from XML carry whitespace
    ],
)
def test_evaluate_ordinary_expressions(
    env: RestrictedEnvironment, expression: str, expected: Any
) -> None:
    """Everyday conditions and expressions evaluate to their value."""
    assert env.evaluate(expression, _data()) == expected


def test_evaluate_does_not_touch_context(env: RestrictedEnvironment) -> None:
    """Evaluating leaves the task data as it was, even with a walrus."""
    data = _data()
    before = dict(data)
    assert env.evaluate("(n := a + 1) == 2", data) is True
    assert data == before


def test_evaluate_external_context_visible_and_data_wins(
    env: RestrictedEnvironment,
) -> None:
    """External context (data objects, DMN input) is visible; task data wins."""
    assert env.evaluate("dmninputexpr == 7", {}, {"dmninputexpr": 7}) is True
    assert env.evaluate("a", {"a": 1}, {"a": 2}) == 1


def test_missing_attribute_raises(env: RestrictedEnvironment) -> None:
    """A missing public attribute is an AttributeError, not a silent None."""
    with pytest.raises(AttributeError):
        env.evaluate("nombre.no_existe", _data())


# --- execute ----------------------------------------------------------------


def test_execute_assigns_updates_and_deletes(env: RestrictedEnvironment) -> None:
    """Top-level names are written back; `del` removes them; += works."""
    data = _data()
    data["total"] = 1
    script = (
        "total += 1\n"
        "total *= 10\n"
        "nuevo = [i * 2 for i in items]\n"
        "datos['y'] = b\n"
        "datos['lista'].append(2)\n"
        "del a\n"
        "primero, segundo, *resto = items\n"
    )
    assert env.execute(script, data) is True
    assert data["total"] == 20
    assert data["nuevo"] == [2, 4, 6]
    assert data["datos"] == {"x": 5, "lista": [1, 2], "y": 3}
    assert "a" not in data
    assert (data["primero"], data["segundo"], data["resto"]) == (1, 2, [3])
    assert data["b"] == 3  # untouched names survive


def test_execute_leaves_no_non_data_keys(env: RestrictedEnvironment) -> None:
    """Functions, lambdas, builtins, guards and print internals stay out."""
    data = _data()
    script = (
        "def doble(x):\n"
        "    return 2 * x\n"
        "triple = lambda x: 3 * x\n"
        "r = doble(triple(a))\n"
        "print(r)\n"
        "for _ in range(2):\n"
        "    pass\n"
        "metodo = nombre.strip\n"
    )
    env.execute(script, data)
    assert data["r"] == 6
    assert set(data) == set(_data()) | {"r"}
    assert not any(key.startswith("_") for key in data)
    assert not any(callable(value) for value in data.values())


def test_comprehension_in_function_sees_data(env: RestrictedEnvironment) -> None:
    """Functions and generator expressions defined by a script see task data."""
    data = _data()
    env.execute("def f():\n    return sum(x * b for x in items)\nr = f()\n", data)
    assert data["r"] == 18


def test_runtime_error_propagates_and_keeps_partial_data(
    env: RestrictedEnvironment,
) -> None:
    """Runtime errors propagate as is; like TaskDataEnvironment, what ran stays."""
    data = _data()
    with pytest.raises(ZeroDivisionError):
        env.execute("antes = 1\nx = 1 / 0\n", data)
    assert data["antes"] == 1
    assert "x" not in data


def test_augmented_item_assignment_is_rejected(env: RestrictedEnvironment) -> None:
    """RestrictedPython refuses `d[k] += 1` (only names may be augmented)."""
    with pytest.raises(ScriptRejected, match="Augmented assignment"):
        env.execute("datos['x'] += 1", _data())


def test_base_exception_is_contained(env: RestrictedEnvironment) -> None:
    """A script cannot throw a non-Exception past `except Exception` handlers."""
    with pytest.raises(RuntimeError, match="BaseException"):
        env.execute("raise Exception.mro()[1]()", {})
    script = (
        "def gen():\n"
        "    try:\n"
        "        yield 1\n"
        "    except Exception.mro()[1] as error:\n"
        "        guardado.append(error)\n"
        "        raise\n"
        "guardado = []\n"
        "g = gen()\n"
        "for v in g:\n"
        "    break\n"
        "g.close()\n"
        "raise guardado[0]\n"
    )
    # Catching anything is refused before it can run: a bound that stops a
    # runaway script raises into it, and nothing may swallow that.
    with pytest.raises(ScriptRejected, match="try/except"):
        env.execute(script, {})


# --- escapes ----------------------------------------------------------------

# Rejected by the restricted compiler (deploy catches these).
COMPILE_TIME_ESCAPES = [
    "__import__('os')",
    "import os",
    "from os import path",
    "().__class__.__base__.__subclasses__()",
    "a.__class__",
    "eval('1')",
    "exec('x=1')",
    "__builtins__",
    "__builtins__['open']",
    "nombre._private",
    "_private = 1",
    "(x for x in items).gi_frame",
    # Builtins scripts never get are refused by name at compile time too.
    "open('/etc/passwd').read()",
    "getattr(a, '__class__')",
    "type(a)",
    "vars()",
    "globals()",
    "compile('1', 'x', 'eval')",
]

# Compile, but fail when run: the attribute guard refuses them.
RUNTIME_ESCAPES = [
    ("'{0.__class__}'.format(1)", NotImplementedError),
    ("str.format('{0.__class__}', 1)", NotImplementedError),
    ("'{x.__class__}'.format_map({'x': 1})", NotImplementedError),
]


@pytest.mark.parametrize("source", COMPILE_TIME_ESCAPES)
def test_escape_rejected_at_compile(env: RestrictedEnvironment, source: str) -> None:
    """Each of these never compiles, neither as script nor as expression."""
    data = _data()
    with pytest.raises(ScriptRejected) as excinfo:
        env.execute(source, data)
    assert excinfo.value.errors
    assert str(excinfo.value).startswith("El script no cumple")
    assert data == _data()
    if not source.startswith(("import", "from", "_private")):
        with pytest.raises(ScriptRejected):
            env.evaluate(source, _data())


@pytest.mark.parametrize(("source", "error"), RUNTIME_ESCAPES)
def test_escape_rejected_at_run(
    env: RestrictedEnvironment, source: str, error: type[Exception]
) -> None:
    """These compile (so check_script accepts them) but fail when run."""
    assert check_script(source) == []
    with pytest.raises(error):
        env.execute(f"resultado = {source}", _data())
    with pytest.raises(error):
        env.evaluate(source, _data())


def test_format_does_not_leak_the_class(env: RestrictedEnvironment) -> None:
    """str.format is refused outright; f-strings cannot name dunders."""
    with pytest.raises(NotImplementedError, match="format"):
        env.evaluate("'{0.__class__}'.format(1)", {})
    assert check_script("f'{a.__class__}'", "eval")


def test_class_definitions_do_not_run(env: RestrictedEnvironment) -> None:
    """Class definitions are refused at compile time (deploy reports them)."""
    with pytest.raises(ScriptRejected, match="clases"):
        env.execute("class A:\n    pass\n", {})


def test_data_cannot_replace_guards(env: RestrictedEnvironment) -> None:
    """Task data named like a guard is refused instead of disabling it."""
    with pytest.raises(ValueError, match="_getattr_"):
        env.evaluate("1", {"_getattr_": getattr})
    with pytest.raises(ValueError, match="__builtins__"):
        env.execute("x = 1", {"__builtins__": __builtins__})


# --- check_script -----------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "mode"),
    [
        ("x = a + 1\ny = [i for i in items]\n", "exec"),
        ("total += 1", "exec"),
        ("a > 1 and decision == 'aprobar'", "eval"),
        ("  a > 1\n", "eval"),
    ],
)
def test_check_script_accepts_good_sources(source: str, mode: str) -> None:
    """Clean sources produce no problems."""
    assert check_script(source, mode) == []


@pytest.mark.parametrize(
    ("source", "mode", "fragment"),
    [
        ("import os", "exec", "Import statements are not allowed"),
        ("x = ().__class__", "exec", '"__class__" is an invalid attribute name'),
        ("x = = 1", "exec", "SyntaxError"),
        ("a.__class__", "eval", '"__class__" is an invalid attribute name'),
        ("x = 1", "eval", "SyntaxError"),
        ("eval('1')", "eval", "Eval calls are not allowed"),
    ],
)
def test_check_script_reports_problems(source: str, mode: str, fragment: str) -> None:
    """Bad sources produce messages with a Spanish lead-in."""
    problems = check_script(source, mode)
    assert problems
    lead = "El script" if mode == "exec" else "La expresión"
    assert all(p.startswith(f"{lead} no cumple las restricciones") for p in problems)
    assert any(fragment in p for p in problems)


def test_check_script_unknown_mode() -> None:
    """Only 'exec' and 'eval' are valid modes."""
    with pytest.raises(ValueError, match="mode"):
        check_script("1", "single")


# --- helpers ----------------------------------------------------------------


def test_helpers_are_callable_and_not_left_in_data() -> None:
    """Whitelisted helpers can be called and never become task data."""
    env = RestrictedEnvironment({"doble": lambda x: 2 * x})
    data = {"n": 4}
    assert env.evaluate("doble(n) == 8", data) is True
    env.execute("m = doble(n)\nargs = [n]\nk = doble(*args)\n", data)
    assert data == {"n": 4, "m": 8, "args": [4], "k": 8}


def test_helper_name_clash_raises() -> None:
    """Task data shadowing a helper is a clear ValueError."""
    env = RestrictedEnvironment({"doble": lambda x: 2 * x})
    with pytest.raises(ValueError, match="doble"):
        env.execute("m = 1", {"doble": 3})
    with pytest.raises(ValueError, match="doble"):
        env.evaluate("1", {"doble": 3})


def test_external_context_clash_raises_on_execute(
    env: RestrictedEnvironment,
) -> None:
    """Like TaskDataEnvironment, execute refuses data shadowing external names."""
    with pytest.raises(ValueError, match="objeto"):
        env.execute("m = 1", {"objeto": 1}, {"objeto": 2})


def test_helper_results_are_read_only() -> None:
    """Objects returned by helpers cannot be written unless dict or list."""

    class Caja:
        valor = 1

    env = RestrictedEnvironment({"caja": Caja})
    with pytest.raises(TypeError):
        env.execute("c = caja()\nc.valor = 2\n", {})


@pytest.mark.parametrize("name", ["_oculto", "no valido", "1x"])
def test_invalid_helper_names(name: str) -> None:
    """Helper names must be identifiers that scripts are allowed to use."""
    with pytest.raises(ValueError, match="helper"):
        RestrictedEnvironment({name: len})


# --- compile cache ----------------------------------------------------------


def test_compiled_code_is_cached(env: RestrictedEnvironment) -> None:
    """The same source compiles once and yields the same code object."""
    source = "a + b > 3  # cache test"
    assert compile_script(source, "eval") is compile_script(source, "eval")
    before = script_compiler.compile_cache_info()
    for _ in range(5):
        env.evaluate(source, _data())
    after = script_compiler.compile_cache_info()
    assert after.hits - before.hits == 5
    assert after.misses == before.misses


def test_rejections_are_cached_too() -> None:
    """A rejected source is not recompiled each time it is checked."""
    source = "x = ().__class__  # cache test"
    check_script(source)
    before = script_compiler.compile_cache_info()
    with pytest.raises(ScriptRejected):
        compile_script(source)
    assert script_compiler.compile_cache_info().hits == before.hits + 1


# --- through SpiffWorkflow ----------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="prueba" isExecutable="true">
    <bpmn:startEvent id="inicio">
      <bpmn:outgoing>f1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:scriptTask id="calcular" name="Calcular">
      <bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="decidir" default="f4">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="fin_aprobado">
      <bpmn:incoming>f3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="fin_rechazado">
      <bpmn:incoming>f4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="inicio" targetRef="calcular" />
    <bpmn:sequenceFlow id="f2" sourceRef="calcular" targetRef="decidir" />
    <bpmn:sequenceFlow id="f3" sourceRef="decidir" targetRef="fin_aprobado">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        {condition}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f4" sourceRef="decidir" targetRef="fin_rechazado" />
  </bpmn:process>
</bpmn:definitions>
"""

GOOD_SCRIPT = (
    "total = sum(m for m in montos)\n"
    "decision = 'aprobar' if total &lt; 100 else 'rechazar'\n"
)
GOOD_CONDITION = 'decision == "aprobar"'


def _run_workflow(
    montos: list[int],
    script: str = GOOD_SCRIPT,
    condition: str = GOOD_CONDITION,
) -> BpmnWorkflow:
    """Parse the test diagram and run it to completion with the restricted engine."""
    xml = BPMN.format(script=script, condition=condition)
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode("utf-8"))
    spec = parser.get_spec("prueba")
    workflow = BpmnWorkflow(spec, script_engine=make_script_engine())
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data["montos"] = montos
    workflow.do_engine_steps()
    return workflow


def _ends_reached(workflow: BpmnWorkflow) -> list[str]:
    """Ids of the end events that completed."""
    return [
        task.task_spec.bpmn_id
        for task in workflow.get_tasks(state=TaskState.COMPLETED)
        if task.task_spec.bpmn_id in ("fin_aprobado", "fin_rechazado")
    ]


@pytest.mark.parametrize(
    ("montos", "end"),
    [([10, 20], "fin_aprobado"), ([60, 70], "fin_rechazado")],
)
def test_workflow_runs_script_and_condition(montos: list[int], end: str) -> None:
    """The script sets data and the gateway routes on it."""
    workflow = _run_workflow(montos)
    assert workflow.is_completed()
    assert _ends_reached(workflow) == [end]
    assert workflow.data["total"] == sum(montos)


@pytest.mark.parametrize(
    "script",
    [
        "x = ().__class__.__base__.__subclasses__()",  # refused by the compiler
        "x = open('/etc/passwd').read()",  # no such builtin
        "import os\nx = os.listdir('/')",
    ],
)
def test_workflow_script_escape_raises(script: str) -> None:
    """A script trying to escape makes the workflow fail instead."""
    with pytest.raises(SpiffWorkflowException) as excinfo:
        _run_workflow([1], script=script)
    assert "x" not in excinfo.value.task.data


def test_workflow_condition_escape_raises() -> None:
    """A condition trying to escape fails the gateway."""
    with pytest.raises(SpiffWorkflowException, match="Error evaluating expression"):
        _run_workflow([1], condition="().__class__ is not None")
