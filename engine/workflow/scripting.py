"""Restricted execution of BPMN scripts and conditions.

SpiffWorkflow runs script tasks, gateway conditions, timer expressions and DMN
cells with Python's ``eval``/``exec``.  Its stock ``TaskDataEnvironment`` is not a
sandbox: anything reachable from a literal (``().__class__.__base__...``) lets a
process designer reach the interpreter.  This module replaces it with an
environment that compiles every source with RestrictedPython and runs it with
guarded attribute, item and iteration access, a small whitelist of builtins and
an explicit whitelist of helper functions.

Public API:

* :class:`RestrictedEnvironment` -- the SpiffWorkflow script environment.
* :func:`make_script_engine` -- a ``PythonScriptEngine`` using it.
* :func:`check_script` -- deploy-time validation of a script or condition.
* :func:`compile_script` -- the cached restricted compiler itself.
* :class:`ScriptRejected` -- raised when a source does not pass the restrictions.
"""

from __future__ import annotations

import ast
import functools
import operator
import types
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine import (
    BasePythonScriptEngineEnvironment,
    PythonScriptEngine,
)

from engine.workflow import script_bounds
from engine.workflow.script_bounds import GUARDED_OPERATORS, ScriptLimitExceeded

__all__ = [
    "RestrictedEnvironment",
    "ScriptRejected",
    "check_script",
    "compile_cache_info",
    "compile_script",
    "make_script_engine",
]

_MODES = ("exec", "eval")

# Designers read these messages in the deploy screen, hence Spanish; the
# details after the colon are RestrictedPython's own (English) diagnostics.
_PREFIX = {
    "exec": "El script no cumple las restricciones de seguridad",
    "eval": "La expresión no cumple las restricciones de seguridad",
}

# SpiffWorkflow's PythonScriptEngine finds the failing line of a script by
# looking for this file name in the traceback, so keep the default.
_FILENAME = "<string>"


class ScriptRejected(Exception):
    """A script or expression does not compile under the restrictions.

    ``errors`` holds RestrictedPython's diagnostics (one per problem) so callers
    can show them individually; the message joins them.
    """

    def __init__(self, source: str, mode: str, errors: tuple[str, ...]) -> None:
        """Build the exception from the rejected source and its diagnostics."""
        self.source = source
        self.mode = mode
        self.errors = errors
        super().__init__(f"{_PREFIX[mode]}: {'; '.join(errors)}")


_OPERATOR_SYMBOLS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Mult: "*",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.Mod: "%",
}
_STATIC_OPERATORS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Sub: operator.sub,
    ast.FloorDiv: operator.floordiv,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
    ast.RShift: operator.rshift,
}


def _constant_value(node: ast.AST) -> Any:
    """The value of a constant expression, computed under the size guards.

    Raises :class:`ScriptLimitExceeded` when it would be too large, and
    ``LookupError`` when ``node`` is not made of constants only.
    """
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_constant_value(node.operand)
    if isinstance(node, ast.BinOp):
        left = _constant_value(node.left)
        right = _constant_value(node.right)
        symbol = _OPERATOR_SYMBOLS.get(type(node.op))
        if symbol is not None:
            return script_bounds.binop(symbol, left, right)
        static = _STATIC_OPERATORS.get(type(node.op))
        if static is not None:
            return static(left, right)
    raise LookupError("not a constant expression")


def _breaks_out(loop: ast.While) -> bool:
    """Whether a ``while`` loop has a ``break`` or ``return`` that leaves it."""

    def search(nodes: list[ast.stmt], in_inner_loop: bool) -> bool:
        for node in nodes:
            if isinstance(node, ast.Break) and not in_inner_loop:
                return True
            if isinstance(node, ast.Return):
                return True
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            inner = in_inner_loop or isinstance(
                node, (ast.For, ast.While, ast.AsyncFor)
            )
            for field in ("body", "orelse", "handlers", "finalbody"):
                children = getattr(node, field, None)
                if isinstance(children, list) and search(
                    [c for c in children if isinstance(c, ast.stmt)], inner
                ):
                    return True
        return False

    return search(loop.body, False)


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus bans and guards of our own.

    * Imports are refused at compile time: we never provide ``__import__``,
      so an import can only fail; reporting it lets deploy reject the bundle
      instead of the case failing later.
    * ``try``, ``with`` and ``class`` are refused: a bound that stops a
      runaway script raises into it, and nothing may swallow that.
    * ``**``, ``*``, ``+``, ``<<`` and ``%`` become calls to a guard that
      checks the size of the result first; constant expressions that are
      already too large, and ``while True`` loops without a way out, are
      refused at compile time.
    """

    def visit_Try(self, node: ast.Try) -> ast.AST:
        """Reject ``try``: errors end the script and flag the case."""
        self.error(
            node,
            "try/except no se permite en scripts: un error detiene el paso y "
            "marca el caso para el supervisor.",
        )
        return node

    def visit_TryStar(self, node: ast.AST) -> ast.AST:
        """Reject ``try … except*`` like ``try``."""
        self.error(node, "try/except no se permite en scripts.")
        return node

    def visit_With(self, node: ast.With) -> ast.AST:
        """Reject ``with``: a context manager could swallow errors."""
        self.error(node, "with no se permite en scripts.")
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        """Reject class definitions (scripts handle plain data)."""
        self.error(node, "No se permite definir clases en scripts.")
        return node

    def visit_While(self, node: ast.While) -> ast.AST:
        """Reject ``while True`` loops that can never end."""
        test = node.test
        if (
            isinstance(test, ast.Constant)
            and bool(test.value)
            and not _breaks_out(node)
        ):
            self.error(node, "Bucle sin fin: «while» siempre verdadero sin «break».")
        result = super().visit_While(node)
        assert isinstance(result, ast.AST)
        return result

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        """Route the operators that can build huge values through the guard."""
        symbol = _OPERATOR_SYMBOLS.get(type(node.op))
        try:
            _constant_value(node)
        except ScriptLimitExceeded as exc:
            self.error(node, str(exc))
            return node
        except Exception:  # noqa: BLE001, S110 - not constant, or fails at run time
            pass
        visited = super().visit_BinOp(node)
        if symbol is None or not isinstance(visited, ast.BinOp):
            assert isinstance(visited, ast.AST)
            return visited
        call = ast.Call(
            func=ast.Name(id="_binop_", ctx=ast.Load()),
            args=[ast.Constant(value=symbol), visited.left, visited.right],
            keywords=[],
        )
        return ast.fix_missing_locations(ast.copy_location(call, node))

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        """Check f-string widths (``f"{x:>1000000000}"``) before formatting."""
        visited = super().visit_FormattedValue(node)
        assert isinstance(visited, ast.FormattedValue)
        if visited.format_spec is None:
            return visited
        call = ast.Call(
            func=ast.Name(id="_format_", ctx=ast.Load()),
            args=[
                visited.value,
                visited.format_spec,
                ast.Constant(value=visited.conversion),
            ],
            keywords=[],
        )
        replaced = ast.FormattedValue(value=call, conversion=-1, format_spec=None)
        return ast.fix_missing_locations(ast.copy_location(replaced, node))

    def visit_Import(self, node: ast.Import) -> ast.AST:
        """Reject ``import x``."""
        self.error(node, "Import statements are not allowed.")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        """Reject ``from x import y``."""
        self.error(node, "Import statements are not allowed.")
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        """Reject names of builtins that scripts never get (``open``, …).

        They would only fail at run time with a NameError; refusing them at
        compile time lets deploy reject the bundle with a clear reason.
        """
        if node.id in _FORBIDDEN_NAMES:
            self.error(node, f'"{node.id}" is not allowed in scripts.')
        result = super().visit_Name(node)
        assert isinstance(result, ast.AST)
        return result


#: Builtins scripts never get; using one is a deploy-time error.
_FORBIDDEN_NAMES = frozenset(
    {
        "open",
        "getattr",
        "setattr",
        "delattr",
        "hasattr",
        "eval",
        "exec",
        "compile",
        "globals",
        "locals",
        "vars",
        "dir",
        "type",
        "input",
        "breakpoint",
        "help",
        "memoryview",
        "exit",
        "quit",
        "object",
        "classmethod",
        "staticmethod",
        "super",
        "property",
    }
)


class _Compiled(NamedTuple):
    """Result of a restricted compile: a code object or the problems found."""

    code: types.CodeType | None
    errors: tuple[str, ...]


@functools.lru_cache(maxsize=4096)
def _compile_cached(source: str, mode: str) -> _Compiled:
    """Compile ``source`` under the restrictions, memoised.

    The same gateway conditions and scripts run for every case, so compiling
    (parse + AST rewrite + bytecode) once per distinct source matters.  Errors
    are cached too (as data, since ``lru_cache`` does not cache exceptions).
    Code objects are immutable, so sharing them between threads is safe.
    """
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        result = compiler(source, filename=_FILENAME, policy=_ScriptPolicy)
    except (SyntaxError, ValueError) as exc:
        # RestrictedPython reports parse errors itself, but some programs
        # parse and then fail in CPython's compiler ("'yield' outside
        # function"); they must be a problem listed, not a crash.
        return _Compiled(None, (f"{type(exc).__name__}: {exc}",))
    return _Compiled(result.code, tuple(result.errors))


def _normalise(source: str, mode: str) -> str:
    """Prepare a source for compilation in ``mode``.

    Conditions written in XML often carry surrounding whitespace or newlines;
    the builtin ``eval`` forgives leading blanks but ``compile`` does not, and
    an expression never needs them, so they are stripped.  Scripts are kept
    as written: indentation is significant there.
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    return source.strip() if mode == "eval" else source


def compile_script(source: str, mode: str = "exec") -> types.CodeType:
    """Return the restricted code object for ``source`` (cached).

    ``mode`` is ``"exec"`` for scripts and ``"eval"`` for expressions.  Raises
    :class:`ScriptRejected` when the source does not pass the restrictions
    (including plain syntax errors).
    """
    source = _normalise(source, mode)
    compiled = _compile_cached(source, mode)
    if compiled.code is None:
        raise ScriptRejected(source, mode, compiled.errors)
    return compiled.code


def compile_cache_info() -> Any:
    """Hits and misses of the restricted compiler's cache (for tests, ops)."""
    return _compile_cached.cache_info()


def check_script(source: str, mode: str = "exec") -> list[str]:
    """List the problems that keep ``source`` from running (empty when fine).

    Meant for deploy-time validation of a bundle: ``mode="exec"`` for script
    tasks, ``mode="eval"`` for conditions and other expressions.  Each message
    is RestrictedPython's diagnostic prefixed with a sentence in Spanish.
    """
    source = _normalise(source, mode)
    errors = _compile_cached(source, mode).errors
    return [f"{_PREFIX[mode]}: {error}" for error in errors]


def _getitem(obj: Any, key: Any) -> Any:
    """Plain item access: task data is JSON-like, there is nothing to guard."""
    return obj[key]


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func``; RestrictedPython routes ``f(*a, **kw)`` calls here."""
    return func(*args, **kwargs)


# ``x += y`` is rewritten by RestrictedPython to ``x = _inplacevar_("+=", x, y)``.
_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    """Apply an augmented assignment operator for RestrictedPython.

    The operators that can build huge values are size-checked first, like
    their binary forms.
    """
    try:
        function = _INPLACE_OPERATORS[op]
    except KeyError:
        raise ValueError(f"unsupported in-place operator {op!r}") from None
    symbol = op[:-1]
    if symbol in GUARDED_OPERATORS:
        script_bounds.check_binop(symbol, target, value)
    return function(target, value)


_SAFER_GETATTR: Callable[..., Any] = safer_getattr_raise


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    """RestrictedPython's attribute guard, plus size-checked string methods."""
    value = _SAFER_GETATTR(obj, name, *default)
    return script_bounds.bounded_attribute(obj, name, value)


# Builtins visible to scripts.  RestrictedPython's safe_builtins minus
# __build_class__ (process scripts have no business defining classes) and the
# exceptions that do not derive from Exception, plus
# the usual data-crunching functions.  RestrictedPython leaves out sorted,
# zip, tuple... because they iterate in C and skip a per-object ``_getiter_``
# check; our ``_getiter_`` is plain ``iter`` (task data has no per-object
# permissions), so that bypass protects nothing here.  Deliberately absent:
# open, __import__, getattr, eval, exec, compile, type, vars, globals,
# locals, dir.
_EXCLUDED_SAFE_BUILTINS = frozenset(
    {
        "__build_class__",
        # Raising these would skip the ``except Exception`` handlers of
        # SpiffWorkflow and the web app (SystemExit would even end a worker).
        "BaseException",
        "GeneratorExit",
        "KeyboardInterrupt",
        "SystemExit",
    }
)
_BUILTINS: dict[str, Any] = {
    name: value
    for name, value in safe_builtins.items()
    if name not in _EXCLUDED_SAFE_BUILTINS
}
_BUILTINS.update(
    {
        "all": all,
        "any": any,
        "dict": dict,
        "enumerate": enumerate,
        "frozenset": frozenset,
        "list": list,
        "max": max,
        "min": min,
        "reversed": reversed,
        "set": set,
        "sorted": sorted,
        "tuple": tuple,
        "zip": zip,
        # Replaced: each can build a huge value in one C call.
        "pow": script_bounds.bounded_pow,
        "range": script_bounds.bounded_range,
        "sum": script_bounds.bounded_sum,
    }
)

# The names RestrictedPython's rewritten code calls.  They are put into every
# namespace last, so task data can never replace a guard.
_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    # Refuses names starting with "_" and str.format tricks; the "raise"
    # variant is used because plain safer_getattr returns None for missing
    # attributes instead of raising AttributeError.
    "_getattr_": _getattr,
    "_getitem_": _getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    # Lets scripts write into dicts and lists (task data); any other object
    # must opt in, so helpers' return values stay read-only.
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
    # print() is accepted so scripts copied from SpiffArena keep working; its
    # output is collected and discarded.
    "_print_": PrintCollector,
    # Size guards the policy routes operators and f-string widths through.
    "_binop_": script_bounds.binop,
    "_format_": script_bounds.bounded_format,
}


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
        self._reserved = frozenset(_GUARDS) | frozenset(checked)

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
        namespace.update(_GUARDS)
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
