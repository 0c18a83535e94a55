"""Bounds of time and memory for designer code (scripts, conditions, DMN cells).

Restricting *what* a script may reach (``engine.workflow.scripting``) does not stop it
from running forever or filling memory, and one runaway step would hold a web
process or the worker. Three mechanisms bound every run:

* **A time and memory budget per run**, enforced by a trace function that is
  active only while designer code runs (``sys.settrace`` on the running thread).
  It is called on every line the script executes, checks the thread's CPU
  time every few lines and the process's resident memory a little less
  often, and raises
  :class:`ScriptLimitExceeded` into the script when either is exceeded.
  Scripts may not use ``try`` (see ``engine.workflow.script_compiler``), so
  the error cannot be swallowed and always ends the run.
* **Guarded operators and functions** for what a single C-level operation
  could blow up without executing a line: ``**``, ``*``, ``+``, ``<<`` and
  ``%`` go through :func:`binop`, ``pow``, ``range`` and ``sum`` are replaced,
  and the string methods that amplify (``join``, ``replace``, ``ljust`` …)
  and f-string widths are checked before they run. Each refuses a result
  larger than ``max_items`` elements/characters or ``max_int_bits`` bits.
* **A budget per engine step** (:func:`step`): everything one service call
  asks SpiffWorkflow to run (many scripts, a loop through a gateway) shares a
  deadline and a count of completed tasks, so a diagram that loops forever
  fails too.

Exceeding a bound fails that step with a Spanish message; SpiffWorkflow adds
the element it was running, and the services flag the case.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import FrameType
from typing import Any

__all__ = [
    "ScriptBounds",
    "ScriptLimitExceeded",
    "binop",
    "bounded_attribute",
    "bounded_format",
    "bounded_pow",
    "bounded_range",
    "bounded_sum",
    "configure",
    "current",
    "run",
    "step",
]

#: File name of compiled designer code (SpiffWorkflow looks for it too).
SCRIPT_FILENAME = "<string>"


@dataclass(frozen=True)
class ScriptBounds:
    """The bounds every run of designer code gets (configurable per process)."""

    #: Seconds one script, condition or expression may run.
    time_s: float = 1.0
    #: Resident memory one run may add to the process, in MiB.
    memory_mib: int = 64
    #: Seconds one engine step (all the automatic work after one action) may take.
    step_time_s: float = 10.0
    #: Automatic tasks one engine step may complete (catches endless loops).
    step_tasks: int = 10_000
    #: Largest string, bytes, list or tuple one operation may build.
    max_items: int = 1_000_000
    #: Largest integer one operation may build, in bits.
    max_int_bits: int = 65_536


_BOUNDS: list[ScriptBounds] = [ScriptBounds()]


def configure(bounds: ScriptBounds) -> None:
    """Set the bounds of this process (the platform does it at start-up)."""
    _BOUNDS[0] = bounds


def current() -> ScriptBounds:
    """The bounds in force."""
    return _BOUNDS[0]


class ScriptLimitExceeded(Exception):
    """Designer code went past a bound of time, memory or size.

    It derives from ``Exception`` so SpiffWorkflow wraps it with the element
    that was running; scripts cannot catch it (``try`` is refused).
    """


def _too_big() -> ScriptLimitExceeded:
    """The error for an operation whose result would be too large."""
    limit = current()
    return ScriptLimitExceeded(
        "La operación produce un valor demasiado grande (límite: "
        f"{limit.max_items:,} elementos o {limit.max_int_bits:,} bits)".replace(
            ",", "."
        )
    )


# --- Guarded operators -------------------------------------------------------

_SEQUENCES = (str, bytes, bytearray, list, tuple)


def _check_length(length: int) -> None:
    """Refuse a sequence result longer than the bound."""
    if length > current().max_items:
        raise _too_big()


def _check_bits(bits: int) -> None:
    """Refuse an integer result wider than the bound."""
    if bits > current().max_int_bits:
        raise _too_big()


def _is_int(value: Any) -> bool:
    """A true integer (bools count, they are small)."""
    return isinstance(value, int)


def _check_pow(base: Any, exponent: Any) -> None:
    """Integer powers grow by ``bits(base) × exponent``."""
    if _is_int(base) and _is_int(exponent) and exponent > 0 and abs(base) > 1:
        _check_bits(base.bit_length() * exponent)


def _check_mult(left: Any, right: Any) -> None:
    """Repetition grows by the count; integer products add their widths."""
    if isinstance(left, _SEQUENCES) and _is_int(right):
        _check_length(len(left) * right)
    elif isinstance(right, _SEQUENCES) and _is_int(left):
        _check_length(len(right) * left)
    elif _is_int(left) and _is_int(right):
        _check_bits(left.bit_length() + right.bit_length())


def _check_add(left: Any, right: Any) -> None:
    """Concatenation adds lengths (doubling in a loop gets big fast)."""
    if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _check_length(len(left) + len(right))


def _check_lshift(left: Any, right: Any) -> None:
    """A left shift adds ``right`` bits."""
    if _is_int(left) and _is_int(right) and right > 0 and left:
        _check_bits(left.bit_length() + right)


_WIDTH = re.compile(r"\d+")


def _check_widths(spec: str) -> None:
    """Refuse a format whose width or precision is larger than the bound."""
    for digits in _WIDTH.findall(spec):
        if len(digits) > 9 or int(digits) > current().max_items:
            raise _too_big()


def _check_percent(left: Any, right: Any) -> None:
    """``"%1000000000d" % 1`` builds a huge string in one operation."""
    if isinstance(left, (str, bytes)):
        text = left if isinstance(left, str) else left.decode("latin-1")
        _check_widths(text)
        if "*" in text:
            values = right if isinstance(right, tuple) else (right,)
            for value in values:
                if _is_int(value) and abs(value) > current().max_items:
                    raise _too_big()


_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "+": _check_add,
    "*": _check_mult,
    "**": _check_pow,
    "<<": _check_lshift,
    "%": _check_percent,
}

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "*": lambda a, b: a * b,
    "**": lambda a, b: a**b,
    "<<": lambda a, b: a << b,
    "%": lambda a, b: a % b,
}

#: Operators routed through :func:`binop` by the script policy.
GUARDED_OPERATORS = frozenset(_OPERATORS)


def check_binop(op: str, left: Any, right: Any) -> None:
    """Raise :class:`ScriptLimitExceeded` if ``left op right`` is too large."""
    check = _CHECKS.get(op)
    if check is not None:
        check(left, right)


def binop(op: str, left: Any, right: Any) -> Any:
    """``left op right`` after checking the size of the result."""
    check_binop(op, left, right)
    return _OPERATORS[op](left, right)


def bounded_pow(base: Any, exponent: Any, modulo: Any = None) -> Any:
    """The ``pow`` builtin; with a modulus the result stays small."""
    if modulo is None:
        _check_pow(base, exponent)
        return pow(base, exponent)
    return pow(base, exponent, modulo)


def bounded_range(*args: int) -> range:
    """The ``range`` builtin, refusing ranges longer than the bound.

    ``list(range(10**12))`` or ``sum(range(10**12))`` run in C without a
    line to trace, so the length is checked up front.
    """
    result = range(*args)
    try:
        length = len(result)
    except OverflowError:
        raise _too_big() from None
    _check_length(length)
    return result


def bounded_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    """The ``sum`` builtin for numbers only.

    Summing lists (``sum(lists, [])``) copies quadratically inside C.
    """
    if not isinstance(start, (int, float, complex)):
        raise TypeError("sum() en scripts solo suma números")
    return sum(iterable, start)


def _bounded_join(text: Any) -> Callable[[Iterable[Any]], Any]:
    """``str.join`` checking the joined length first."""

    def join(items: Iterable[Any]) -> Any:
        parts = list(items)
        _check_length(len(parts))
        total = sum(len(p) for p in parts if isinstance(p, (str, bytes)))
        _check_length(total + len(text) * max(len(parts) - 1, 0))
        return text.join(parts)

    return join


def _bounded_replace(text: Any) -> Callable[..., Any]:
    """``str.replace`` checking the grown length first."""

    def replace(old: Any, new: Any, count: int = -1) -> Any:
        found = text.count(old)
        if count >= 0:
            found = min(found, count)
        _check_length(len(text) + found * max(len(new) - len(old), 0))
        return text.replace(old, new, count)

    return replace


def _bounded_width(text: Any, name: str) -> Callable[..., Any]:
    """``ljust``/``rjust``/``center``/``zfill`` checking the width first."""
    method = getattr(text, name)

    def pad(width: int, *args: Any) -> Any:
        if _is_int(width):
            _check_length(width)
        return method(width, *args)

    return pad


def _bounded_expandtabs(text: Any) -> Callable[..., Any]:
    """``expandtabs`` checking the grown length first."""

    def expandtabs(tabsize: int = 8) -> Any:
        if _is_int(tabsize):
            _check_length(
                len(text)
                + text.count("\t" if isinstance(text, str) else b"\t") * max(tabsize, 0)
            )
        return text.expandtabs(tabsize)

    return expandtabs


def bounded_attribute(obj: Any, name: str, value: Any) -> Any:
    """Replace string methods that can amplify a value with checked ones."""
    if not isinstance(obj, (str, bytes)):
        return value
    if name == "join":
        return _bounded_join(obj)
    if name == "replace":
        return _bounded_replace(obj)
    if name in ("ljust", "rjust", "center", "zfill"):
        return _bounded_width(obj, name)
    if name == "expandtabs":
        return _bounded_expandtabs(obj)
    return value


_CONVERSIONS: dict[int, Callable[[Any], str]] = {
    ord("s"): str,
    ord("r"): repr,
    ord("a"): ascii,
}


def bounded_format(value: Any, spec: str, conversion: int = -1) -> str:
    """An f-string field with a format spec, refusing huge widths."""
    _check_widths(spec)
    if conversion in _CONVERSIONS:
        value = _CONVERSIONS[conversion](value)
    return format(value, spec)


# --- Time and memory -----------------------------------------------------------

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MIB = 1024 * 1024
#: Lines between two time checks (reading the thread's CPU clock is a
#: system call) and between two memory checks (reading /proc costs more).
_CHECK_EVERY = 8
_MEMORY_EVERY = 32


_STATM: list[int] = [-1, -1]  # [pid that opened it, file descriptor]


def _rss() -> int:
    """Resident memory of this process in bytes (0 where it cannot be read).

    The ``/proc/self/statm`` descriptor stays open and is read with
    ``pread`` (about a microsecond; DMN tables evaluate dozens of cells per
    step). It is reopened after a fork: ``self`` was resolved at open time,
    and a gunicorn worker must not read its master's memory.
    """
    try:
        pid = os.getpid()
        if _STATM[0] != pid:
            _STATM[1] = os.open("/proc/self/statm", os.O_RDONLY)
            _STATM[0] = pid
        return int(os.pread(_STATM[1], 128, 0).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


@dataclass
class _Step:
    """The shared budget of one engine step."""

    deadline: float
    tasks: int = 0


_STEP: ContextVar[_Step | None] = ContextVar("centro311_step", default=None)


@contextmanager
def step() -> Iterator[Callable[[Any], None]]:
    """Bound one engine step; yields the callback to call per completed task.

    Nested calls share the outer budget.
    """
    outer = _STEP.get()
    budget = outer or _Step(time.monotonic() + current().step_time_s)
    token = _STEP.set(budget)

    def did_complete_task(_task: Any) -> None:
        budget.tasks += 1
        if budget.tasks > current().step_tasks:
            raise ScriptLimitExceeded(
                "El proceso completó demasiadas tareas automáticas en un solo paso "
                f"(límite: {current().step_tasks}); revise si hay un ciclo sin fin"
            )
        if time.monotonic() > budget.deadline:
            raise _step_timeout()

    try:
        yield did_complete_task
    finally:
        _STEP.reset(token)


def _step_timeout() -> ScriptLimitExceeded:
    """The error of an engine step that ran out of time."""
    return ScriptLimitExceeded(
        "El paso del proceso superó el tiempo máximo "
        f"({current().step_time_s:g} s); revise si hay un ciclo sin fin"
    )


def run(function: Callable[[], Any]) -> Any:
    """Run designer code under the time and memory bounds; returns its value.

    The time bound counts the CPU time of this thread (``time.thread_time``),
    so a busy server, where a script waits for the processor, does not fail
    normal cases; the engine step's budget, shared by every script of the
    step, is wall-clock time and catches the rest.
    """
    bounds = current()
    cpu_deadline = time.thread_time() + bounds.time_s
    budget = _STEP.get()
    step_deadline = budget.deadline if budget is not None else float("inf")
    if time.monotonic() > step_deadline:
        raise _step_timeout()
    baseline = _rss()
    memory_limit = baseline + bounds.memory_mib * _MIB if baseline else 0
    lines = 0

    def check() -> None:
        """The periodic checks: CPU time, wall time of the step, memory."""
        if time.thread_time() > cpu_deadline:
            raise ScriptLimitExceeded(
                f"El script superó el tiempo máximo de {bounds.time_s:g} s"
            )
        if time.monotonic() > step_deadline:
            raise _step_timeout()
        if memory_limit and lines % _MEMORY_EVERY == 0 and _rss() > memory_limit:
            raise ScriptLimitExceeded(
                f"El script superó la memoria máxima de {bounds.memory_mib} MiB"
            )

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
            if lines % _CHECK_EVERY == 0:
                check()
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        lines += 1
        if lines % _CHECK_EVERY == 0:
            check()
        # Only designer code is traced line by line; our own helpers and
        # guards are bounded by construction.
        return local if frame.f_code.co_filename == SCRIPT_FILENAME else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        return function()
    finally:
        sys.settrace(previous)
