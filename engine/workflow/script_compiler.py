"""Compiling designer code under the restrictions.

SpiffWorkflow runs script tasks, gateway conditions, timer expressions and DMN
cells with Python's ``eval``/``exec``.  Every such source is compiled here with
RestrictedPython under a policy of our own: imports,
``try``, ``with``, ``class`` and forbidden builtins are refused, endless
``while True`` loops and constant expressions that are already too large are
refused, and the operators and f-string widths that can build huge values are
rewritten into calls to the size guards of :mod:`engine.workflow.script_bounds`.
The names the rewritten code calls are in :mod:`engine.workflow.script_guards`;
running it is :mod:`engine.workflow.scripting`.

Public API:

* :func:`compile_script` -- the cached restricted compiler itself.
* :func:`check_script` -- deploy-time validation of a script or condition.
* :func:`compile_cache_info` -- hits and misses of the compiler's cache.
* :class:`ScriptRejected` -- raised when a source does not pass the restrictions.
"""

from __future__ import annotations

import ast
import functools
import operator
import types
from collections.abc import Callable
from typing import Any, NamedTuple

from RestrictedPython.compile import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer

from engine.workflow import script_bounds
from engine.workflow.script_bounds import ScriptLimitExceeded

__all__ = [
    "ScriptRejected",
    "check_script",
    "compile_cache_info",
    "compile_script",
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
