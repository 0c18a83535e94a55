"""The names restricted designer code runs with.

RestrictedPython rewrites attribute, item and iteration access, augmented
assignments, ``print`` and ``f(*a, **kw)`` calls into calls to guard
functions (``_getattr_``, ``_getitem_`` …); our policy
(:mod:`engine.workflow.script_compiler`) adds ``_binop_`` and ``_format_``.
This module provides those guards and the builtins scripts may use, as one
mapping, :data:`GUARDS`, that :mod:`engine.workflow.scripting` puts into every
namespace last, so task data can never replace a guard.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector

from engine.workflow import script_bounds
from engine.workflow.script_bounds import GUARDED_OPERATORS

__all__ = ["GUARDS"]


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
GUARDS: dict[str, Any] = {
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
