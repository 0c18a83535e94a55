"""Restricted execution of BPMN scripts and conditions.

SpiffWorkflow runs script tasks, gateway conditions, timer expressions and DMN
cells with Python's ``eval``/``exec``.  Its stock ``TaskDataEnvironment`` is not a
sandbox: anything reachable from a literal (``().__class__.__base__...``) lets a
process designer reach the interpreter.  This module replaces it with an
environment that compiles every source with RestrictedPython
(:mod:`engine.workflow.script_compiler`) and runs it, under the bounds of
:mod:`engine.workflow.script_bounds`, with guarded attribute, item and
iteration access, a small whitelist of builtins
(:mod:`engine.workflow.script_guards`) and an explicit whitelist of helper
functions.

Public API:

* :class:`RestrictedEnvironment` -- the SpiffWorkflow script environment.
* :func:`make_script_engine` -- a ``PythonScriptEngine`` using it.

A source that does not pass the restrictions raises
:class:`engine.workflow.script_compiler.ScriptRejected`.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from typing import Any

from SpiffWorkflow.bpmn.script_engine import (
    BasePythonScriptEngineEnvironment,
    PythonScriptEngine,
)

from engine.workflow import script_bounds
from engine.workflow.script_compiler import compile_script
from engine.workflow.script_guards import GUARDS

__all__ = [
    "RestrictedEnvironment",
    "make_script_engine",
]


def _run(code: types.CodeType, namespace: dict[str, Any]) -> Any:
    """Run restricted ``code`` in ``namespace`` and return its value.

    ``eval`` runs exec-mode code objects too (returning None), so one call
    serves scripts and expressions.  A script can still get hold of
    ``BaseException`` (``Exception.mro()``) or catch a ``GeneratorExit``
    inside its own generator and re-raise it; neither derives from
    ``Exception``, so they would fly past every ``except Exception`` up the
    stack.  They are turned into a RuntimeError here.  Genuine interrupts
    (KeyboardInterrupt, SystemExit) cannot be built by a script -- their
    classes are unreachable -- so they pass through untouched.
    """
    try:
        return script_bounds.run(
            lambda: eval(code, namespace)  # noqa: S307 -- restricted code object
        )
    except (Exception, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:
        raise RuntimeError(
            f"El script lanzó {type(error).__name__}, que no está permitido"
        ) from error


def _is_data(value: Any) -> bool:
    """Whether a namespace value may be stored in task data."""
    return not (callable(value) or isinstance(value, types.ModuleType))


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """SpiffWorkflow script environment that runs sources under RestrictedPython.

    Same contract as SpiffWorkflow's ``TaskDataEnvironment``: ``evaluate``
    returns the value of an expression, ``execute`` runs a script whose
    top-level names update the task data in place.  Every source is compiled
    with RestrictedPython (cached) and run in a fresh namespace holding the
    guards, the whitelisted builtins, the helpers, the external context and the
    task data, in that order of increasing precedence -- except the guards,
    which always win.
    """

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        """Create the environment with an optional whitelist of helpers.

        ``helpers`` maps names to functions that scripts may call (business
        days, etc.).  Names must be identifiers not starting with ``_``
        (RestrictedPython would refuse to compile a reference to them anyway).
        """
        checked: dict[str, Callable[..., Any]] = {}
        for name, function in (helpers or {}).items():
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"invalid helper name {name!r}")
            if not callable(function):
                raise ValueError(f"helper {name!r} is not callable")
            checked[name] = function
        super().__init__(checked)
        self.helpers: dict[str, Callable[..., Any]] = checked
        self._reserved = frozenset(GUARDS) | frozenset(checked)

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Evaluate ``expression`` against the task data ``context``.

        ``context`` is not modified.  Raises :class:`ScriptRejected` if the
        expression does not compile under the restrictions and ``ValueError``
        if task data shadows a helper; runtime errors propagate unchanged.
        """
        code = compile_script(expression, "eval")
        self._check_for_overwrite(context, {})
        namespace = self._namespace(context, external_context)
        return _run(code, namespace)

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run ``script`` and write its top-level names back into ``context``.

        New and changed variables are stored, deleted ones removed; guards,
        builtins, helpers, external context, functions, modules and new names
        starting with ``_`` are never stored.  Raises :class:`ScriptRejected`
        if the script does not compile under the restrictions and
        ``ValueError`` if task data shadows a helper or external name.
        """
        external = external_context or {}
        code = compile_script(script, "exec")
        self._check_for_overwrite(context, external)
        namespace = self._namespace(context, external)
        try:
            _run(code, namespace)
        finally:
            # Like TaskDataEnvironment, keep what the script did up to a
            # failure: it helps designers see where a script went wrong.
            self._write_back(namespace, context, external)
        return True

    def _namespace(
        self, context: Mapping[str, Any], external_context: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Build the globals for one run.

        Data lives in the globals (not in locals) so that comprehensions,
        generator expressions and functions defined by the script can see it.
        """
        namespace: dict[str, Any] = dict(self.helpers)
        if external_context:
            namespace.update(external_context)
        namespace.update(context)
        namespace.update(GUARDS)
        return namespace

    def _check_for_overwrite(
        self, context: Mapping[str, Any], external_context: Mapping[str, Any]
    ) -> None:
        """Fail fast when task data would hide a helper, guard or external name.

        Otherwise a variable named like a helper makes the helper uncallable
        with a baffling error, and one named like a guard would be ignored.
        """
        clashes = self._reserved.union(external_context).intersection(context)
        if clashes:
            names = ", ".join(sorted(clashes))
            raise ValueError(
                "Hay datos de la tarea que ocultan funciones predefinidas; "
                f"cambie el nombre de estas variables o campos: {names}"
            )

    def _write_back(
        self,
        namespace: Mapping[str, Any],
        context: dict[str, Any],
        external_context: Mapping[str, Any],
    ) -> None:
        """Copy the script's data names from ``namespace`` into ``context``."""
        data: dict[str, Any] = {}
        for name, value in namespace.items():
            if name in self._reserved or name in external_context:
                continue
            # New "_"-names can only be RestrictedPython internals (the print
            # collector) or the "_" throwaway variable: not data.
            if name.startswith("_") and name not in context:
                continue
            if _is_data(value):
                data[name] = value
        for name in [name for name in context if name not in data]:
            del context[name]
        context.update(data)


def make_script_engine(
    helpers: Mapping[str, Callable[..., Any]] | None = None,
) -> PythonScriptEngine:
    """Return a SpiffWorkflow script engine that runs everything restricted."""
    return PythonScriptEngine(environment=RestrictedEnvironment(helpers))
