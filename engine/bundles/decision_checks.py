"""Checks on a bundle's decision tables (DMN), as SpiffWorkflow runs them.

SpiffWorkflow evaluates every cell as a Python expression, not as FEEL: an
input cell is compared with ``==`` to the column's value (``"salud"``), or
appended to it when it starts with an operator (``!= "salud"``, ``> 5``), or
run with ``?`` standing for the value (``? in ("agua", "vias")``). This module
reads cells with those rules and reports:

- a table that does not end with a catch-all row (a warning, as at every
  deploy: a case matching no row gets no result);
- cells written in FEEL that SpiffWorkflow reads otherwise (``"a", "b"`` or
  ``not("a")`` never match; ``in (...)`` without ``?`` fails): errors;
- two rows that can match the same data under the ``FIRST`` or ``UNIQUE``
  hit policy (warnings: only the first of them ever applies there);
- routing rules that send a category to an entity the database does not
  know, has deactivated, or that does not answer the category (warnings);
  the service layer passes the entities in, so bundles stay free of the
  database.

Only what can be proven is reported: a cell with any other expression is
taken to match "something" and never makes an overlap.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.bundles import routing
from engine.bundles.markup import local_name, problem
from engine.domain.errors import N_, Problem

#: Hit policies under which only one row applies to a given input.
SINGLE_HIT = frozenset({"FIRST", "UNIQUE"})

#: A ``?`` outside string literals (SpiffWorkflow's own rule).
_QUESTION = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


@dataclass(frozen=True)
class Cell:
    """What an input cell matches, as far as it can be known.

    ``kind`` is ``any`` (empty or ``-``), ``in`` (one of ``values``),
    ``not_in`` (anything but ``values``), ``range`` (numbers between
    ``low`` and ``high``, each bound included when its flag says so),
    ``unknown`` (an expression this module does not read) or ``broken``
    (a cell SpiffWorkflow reads otherwise than it looks; ``hint`` says how
    to write it).
    """

    kind: str
    values: frozenset[Any] = frozenset()
    low: float = -math.inf
    high: float = math.inf
    low_in: bool = False
    high_in: bool = False
    hint: str = ""


ANY = Cell("any")
UNKNOWN = Cell("unknown")


@dataclass(frozen=True)
class EntityFacts:
    """What the database says about an entity code: active, and the
    categories it answers (empty when it lists none)."""

    active: bool
    categories: frozenset[str] = frozenset()


def _literal(node: ast.AST) -> tuple[bool, Any]:
    """(True, value) when ``node`` is a string, number or boolean literal."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    if isinstance(value, str | int | float | bool):
        return True, value
    return False, None


def _literals(node: ast.AST) -> frozenset[Any] | None:
    """The literals of a tuple, list or set of literals; None otherwise."""
    if not isinstance(node, ast.Tuple | ast.List | ast.Set):
        return None
    found = []
    for element in node.elts:
        ok, value = _literal(element)
        if not ok:
            return None
        found.append(value)
    return frozenset(found)


def _parse(text: str) -> ast.AST | None:
    """The expression ``text`` parses to, or None."""
    try:
        return ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _number(value: Any) -> float | None:
    """``value`` as a number for ranges (booleans are not numbers here)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _comparison(op: ast.cmpop, value: Any) -> Cell:
    """The cell of ``<value> <op> <literal>`` (the value on the left)."""
    bound = _number(value)
    if isinstance(op, ast.Eq):
        return Cell("in", frozenset({value}))
    if isinstance(op, ast.NotEq):
        return Cell("not_in", frozenset({value}))
    if bound is None:
        return UNKNOWN
    if isinstance(op, ast.Lt):
        return Cell("range", high=bound)
    if isinstance(op, ast.LtE):
        return Cell("range", high=bound, high_in=True)
    if isinstance(op, ast.Gt):
        return Cell("range", low=bound)
    if isinstance(op, ast.GtE):
        return Cell("range", low=bound, low_in=True)
    return UNKNOWN


def _flip(op: ast.cmpop) -> ast.cmpop:
    """``a op b`` as ``b op' a`` (for ``5 < ?``)."""
    flipped: dict[type, ast.cmpop] = {
        ast.Lt: ast.Gt(),
        ast.Gt: ast.Lt(),
        ast.LtE: ast.GtE(),
        ast.GtE: ast.LtE(),
    }
    return flipped.get(type(op), op)


def _with_value(node: ast.AST, name: str) -> Cell:
    """The cell of a comparison whose subject is the variable ``name``."""
    if not isinstance(node, ast.Compare):
        return UNKNOWN
    operands = [node.left, *node.comparators]
    cell = ANY
    for op, left, right in zip(node.ops, operands[:-1], operands[1:], strict=True):
        is_left = isinstance(left, ast.Name) and left.id == name
        is_right = isinstance(right, ast.Name) and right.id == name
        if is_left == is_right:
            return UNKNOWN
        other = right if is_left else left
        if isinstance(op, ast.In | ast.NotIn) and is_left:
            values = _literals(other)
            if values is None:
                return UNKNOWN
            part = Cell("in" if isinstance(op, ast.In) else "not_in", values)
        else:
            ok, value = _literal(other)
            if not ok:
                return UNKNOWN
            part = _comparison(op if is_left else _flip(op), value)
        cell = part if cell is ANY else _both(cell, part)
    return cell


def _both(a: Cell, b: Cell) -> Cell:
    """A cell matching what both ranges match (``1 < ? <= 5``)."""
    if a.kind != "range" or b.kind != "range":
        return UNKNOWN
    low, low_in = _tighter(a.low, a.low_in, b.low, b.low_in, max)
    high, high_in = _tighter(a.high, a.high_in, b.high, b.high_in, min)
    return Cell("range", low=low, high=high, low_in=low_in, high_in=high_in)


def _tighter(
    x: float, x_in: bool, y: float, y_in: bool, pick: Any
) -> tuple[float, bool]:
    """The tighter of two bounds (``pick`` is ``max`` for lows, ``min`` for
    highs); at the same number, included only when both include it."""
    if x != y:
        return (x, x_in) if pick(x, y) == x else (y, y_in)
    return x, x_in and y_in


def _negated(node: ast.AST) -> list[ast.expr] | None:
    """The literals of FEEL's ``not("a", "b")`` (Python reads ``not (…)``)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = node.args if node.func.id == "not" else None
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        operand = node.operand
        args = list(operand.elts) if isinstance(operand, ast.Tuple) else [operand]
    else:
        return None
    if args is None or not all(_literal(a)[0] for a in args):
        return None
    return list(args)


def read_cell(text: str | None) -> Cell:
    """What an input cell matches under SpiffWorkflow's rules."""
    cell = (text or "").strip()
    if cell in ("", "-"):
        return ANY
    if _QUESTION.search(cell):
        node = _parse(_QUESTION.sub("dmninputexpr", cell))
        return UNKNOWN if node is None else _with_value(node, "dmninputexpr")
    node = _parse(cell)
    if node is not None:
        ok, value = _literal(node)
        if ok:
            return Cell("in", frozenset({value}))
        values = _literals(node)
        if values is not None and isinstance(node, ast.Tuple):
            return Cell("broken", hint=f"? in {_tuple(node.elts)}")
        negated = _negated(node)
        if negated is not None:
            return Cell("broken", hint=f"? not in {_tuple(negated)}")
        return UNKNOWN
    if cell[0].isalpha() or cell[0] == "_":
        # SpiffWorkflow glues the column to the cell: "categoria" + "in (...)".
        return Cell("broken", hint=f"? {cell}")
    node = _parse(f"dmninputexpr {cell}")
    return UNKNOWN if node is None else _with_value(node, "dmninputexpr")


def _show(value: Any) -> str:
    """A literal as a cell shows it (strings in double quotes)."""
    return f'"{value}"' if isinstance(value, str) else str(value)


def _tuple(elements: list[ast.expr]) -> str:
    """Literals as a Python tuple in cell style (``("a",)`` for one)."""
    shown = [_show(_literal(e)[1]) for e in elements]
    return f"({shown[0]},)" if len(shown) == 1 else f"({', '.join(shown)})"


def _overlap(a: Cell, b: Cell) -> bool | None:
    """Whether two cells can match one value (None when it cannot be told)."""
    if "unknown" in (a.kind, b.kind) or "broken" in (a.kind, b.kind):
        return None
    if a.kind == "any" or b.kind == "any":
        return True
    if a.kind == "not_in" and b.kind == "not_in":
        return True
    if a.kind == "in" and b.kind == "in":
        return bool(a.values & b.values)
    if {a.kind, b.kind} == {"in", "not_in"}:
        yes, no = (a, b) if a.kind == "in" else (b, a)
        return bool(yes.values - no.values)
    if a.kind == "range" and b.kind == "range":
        return _ranges_meet(a, b)
    if {a.kind, b.kind} == {"in", "range"}:
        yes, span = (a, b) if a.kind == "in" else (b, a)
        return any(_in_range(_number(v), span) for v in yes.values)
    return True  # a range and an exclusion: some number fits both


def _in_range(value: float | None, span: Cell) -> bool:
    """Whether a number lies in a range cell."""
    if value is None:
        return False
    above = value > span.low or (span.low_in and value == span.low)
    below = value < span.high or (span.high_in and value == span.high)
    return above and below


def _ranges_meet(a: Cell, b: Cell) -> bool:
    """Whether two ranges share a number."""
    low, low_in = _tighter(a.low, a.low_in, b.low, b.low_in, max)
    high, high_in = _tighter(a.high, a.high_in, b.high, b.high_in, min)
    return low < high or (low == high and low_in and high_in)


def _children(node: Any, name: str) -> list[Any]:
    """Direct children of a DMN element with this local name."""
    return [c for c in node if isinstance(c.tag, str) and local_name(c) == name]


def _text(node: Any) -> str:
    """The text of an entry's ``<text>`` child ("" when none)."""
    texts = _children(node, "text")
    return (texts[0].text or "").strip() if texts else ""


def _columns(table: Any) -> list[str]:
    """The input expressions of a table, in column order."""
    return [
        next((_text(e) for e in _children(i, "inputExpression")), "")
        or str(i.get("label") or "")
        for i in _children(table, "input")
    ]


def _is_catch_all(rule: Any) -> bool:
    """Whether every input entry of a rule is empty or ``-``."""
    return all(_text(e) in ("", "-") for e in _children(rule, "inputEntry"))


def check_decision_tables(name: str, tree: Any) -> list[Problem]:
    """Every problem of the decision tables of one ``.dmn`` file.

    A missing final catch-all row and overlapping rows are warnings; a cell
    SpiffWorkflow would read otherwise than written is an error.
    """
    problems: list[Problem] = []
    for table in tree.xpath("//*[local-name()='decisionTable']"):
        decision = table.getparent()
        decision_id = decision.get("id") or table.get("id")
        label = decision.get("name") or decision_id
        rules = _children(table, "rule")
        if not rules:
            problems.append(
                problem(
                    name,
                    decision_id,
                    N_("La tabla de decisión «%(label)s» no tiene reglas."),
                    severity="warning",
                    label=label,
                )
            )
            continue
        if not _is_catch_all(rules[-1]):
            problems.append(
                problem(
                    name,
                    decision_id,
                    N_(
                        "La tabla de decisión «%(label)s» no termina con una regla "
                        "comodín: la última regla (n.º %(number)s) tiene "
                        "condiciones, y un caso que no coincida con ninguna regla "
                        "quedará sin resultado. Agregue al final una regla con "
                        "todas las entradas vacías o «-»."
                    ),
                    severity="warning",
                    label=label,
                    number=len(rules),
                )
            )
        problems.extend(_table_problems(name, table, label, rules))
    return problems


def _table_problems(
    name: str, table: Any, label: str, rules: list[Any]
) -> list[Problem]:
    """Broken cells and overlapping rows of one table."""
    problems: list[Problem] = []
    columns = _columns(table)
    cells: list[list[Cell]] = []
    for number, rule in enumerate(rules, start=1):
        row = []
        for column, entry in zip(columns, _children(rule, "inputEntry"), strict=False):
            cell = read_cell(_text(entry))
            row.append(cell)
            if cell.kind == "broken":
                problems.append(
                    problem(
                        name,
                        rule.get("id"),
                        N_(
                            "Regla n.º %(number)s de «%(label)s», columna "
                            "«%(column)s»: el motor no lee «%(cell)s» como "
                            "parece y la regla nunca coincidiría (o fallaría). "
                            "Escríbalo así: %(hint)s"
                        ),
                        number=number,
                        label=label,
                        column=column,
                        cell=_text(entry),
                        hint=cell.hint,
                    )
                )
        cells.append(row)
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in SINGLE_HIT:
        return problems
    last = len(rules) - 1 if _is_catch_all(rules[-1]) else len(rules)
    for second in range(last):
        for first in range(second):
            pairs = zip(cells[first], cells[second], strict=False)
            if all(_overlap(a, b) for a, b in pairs):
                problems.append(
                    problem(
                        name,
                        rules[second].get("id"),
                        N_(
                            "Las reglas n.º %(first)s y n.º %(second)s de "
                            "«%(label)s» pueden coincidir con los mismos datos"
                            "%(example)s: con la política %(policy)s solo se "
                            "aplica la n.º %(first)s."
                        ),
                        severity="warning",
                        first=first + 1,
                        second=second + 1,
                        label=label,
                        example=_example(columns, cells[first], cells[second]),
                        policy=policy,
                    )
                )
    return problems


def _example(columns: list[str], a: list[Cell], b: list[Cell]) -> str:
    """Values both rows match, where listed (`` (categoria = "salud")``)."""
    parts = []
    for column, x, y in zip(columns, a, b, strict=False):
        if x.kind == "in" and y.kind == "in":
            common = sorted(x.values & y.values, key=str)
            if common:
                parts.append(f"{column} = {_show(common[0])}")
    return f" ({', '.join(parts)})" if parts else ""


def check_routing_entities(
    files: dict[str, str], entities: Mapping[str, EntityFacts]
) -> list[Problem]:
    """Warnings about where a bundle's routing table sends categories.

    ``entities`` maps every entity code the database knows to its facts. A
    rule naming an entity that does not exist or is inactive, or one that
    does not answer the rule's category (when it lists any), warns, naming
    the rule.
    """
    problems: list[Problem] = []
    for rule in routing.routing_rules(files):
        found = entities.get(rule.entity)
        for category in rule.categories:
            if found is None:
                text = N_(
                    "La tabla de enrutamiento envía «%(category)s» a %(entity)s,"
                    " que no existe: los casos de esa categoría quedarán sin"
                    " entidad sugerida."
                )
            elif not found.active:
                text = N_(
                    "La tabla de enrutamiento envía «%(category)s» a %(entity)s,"
                    " que está inactiva."
                )
            elif found.categories and category not in found.categories:
                text = N_(
                    "La tabla de enrutamiento envía «%(category)s» a %(entity)s,"
                    " que no atiende esa categoría (atiende: %(answers)s)."
                )
            else:
                continue
            problems.append(
                problem(
                    rule.file,
                    rule.rule,
                    text,
                    severity="warning",
                    category=category,
                    entity=rule.entity,
                    answers=", ".join(sorted(found.categories)) if found else "",
                )
            )
    return problems
