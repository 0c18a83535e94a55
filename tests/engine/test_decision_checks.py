"""The decision table checks: catch-all row, cells read as SpiffWorkflow
reads them, overlapping rows, and routes to entities the database knows."""

from __future__ import annotations

from xml.sax.saxutils import escape

from lxml import etree

from engine.bundles import registry
from engine.bundles.decision_checks import (
    EntityFacts,
    check_decision_tables,
    check_routing_entities,
    read_cell,
)
from engine.bundles.markup import safe_xml_parser
from engine.domain.errors import BundleInvalid
from tests.engine.test_design import queja_files


def table(
    *rows: tuple[str, ...], policy: str = "FIRST", inputs: int = 1, rid: str = "r"
) -> str:
    """A routing-like table: ``inputs`` input columns, one output; each row is
    its input cells then its output cell."""
    columns = "".join(
        f'<input id="i{n}"><inputExpression id="e{n}" typeRef="string">'
        f"<text>{'categoria' if n == 0 else f'col{n}'}</text></inputExpression></input>"
        for n in range(inputs)
    )
    rules = "".join(
        f'<rule id="{rid}{k}">'
        + "".join(
            f'<inputEntry id="{rid}{k}i{n}"><text>{escape(c)}</text></inputEntry>'
            for n, c in enumerate(row[:-1])
        )
        + f'<outputEntry id="{rid}{k}o"><text>{escape(row[-1])}</text>'
        + "</outputEntry></rule>"
        for k, row in enumerate(rows, start=1)
    )
    return (
        '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" '
        'id="d" name="d" namespace="https://311.gob.pa/dmn">'
        '<decision id="enrutamiento" name="Rutas">'
        f'<decisionTable id="t" hitPolicy="{policy}">{columns}'
        '<output id="o" name="entidad_sugerida" typeRef="string"/>'
        f"{rules}</decisionTable></decision></definitions>"
    )


def problems_of(xml: str) -> list[tuple[str | None, str, str]]:
    """(element, severity, text) of every problem of a table."""
    tree = etree.fromstring(xml.encode(), safe_xml_parser())
    return [
        (p.element, p.severity, p.message.text % p.message.params)
        for p in check_decision_tables("t.dmn", tree)
    ]


CATCH_ALL = ("-", '""')


def test_a_clean_table_has_no_problems() -> None:
    """Distinct literals, a membership test and a final catch-all: clean."""
    xml = table(
        ('"salud"', '"MINSA"'),
        ('? in ("agua", "alcantarillado")', '"IDAAN"'),
        CATCH_ALL,
    )
    assert problems_of(xml) == []


def test_the_seed_tables_are_clean() -> None:
    """The shipped routing and deadline tables pass every check."""
    files = queja_files()
    for name in ("enrutamiento.dmn", "plazos.dmn"):
        tree = etree.fromstring(files[name].encode(), safe_xml_parser())
        assert check_decision_tables(name, tree) == []


def test_a_table_without_a_final_catch_all_warns() -> None:
    """The last row has a condition: a warning naming its number."""
    found = problems_of(table(('"salud"', '"MINSA"'), ('"vias"', '"MOP"')))
    assert [(e, s) for e, s, _ in found] == [("enrutamiento", "warning")]
    assert "no termina con una regla comodín" in found[0][2]
    assert "n.º 2" in found[0][2]


def test_a_catch_all_before_the_end_overlaps_every_later_row() -> None:
    """A row matching everything hides the rows after it."""
    found = problems_of(table(CATCH_ALL, ('"salud"', '"MINSA"'), CATCH_ALL))
    assert [(e, s) for e, s, _ in found] == [("r2", "warning")]
    assert "n.º 1 y n.º 2" in found[0][2]


def test_rows_with_the_same_category_overlap() -> None:
    """Two rows for «salud» under FIRST: a warning with the shared value."""
    found = problems_of(
        table(
            ('"salud"', '"MINSA"'), ('"vias"', '"MOP"'), ('"salud"', '"CSS"'), CATCH_ALL
        )
    )
    assert found == [
        (
            "r3",
            "warning",
            "Las reglas n.º 1 y n.º 3 de «Rutas» pueden coincidir con los mismos "
            'datos (categoria = "salud"): con la política FIRST solo se aplica '
            "la n.º 1.",
        )
    ]


def test_lists_exclusions_and_ranges_overlap_when_they_share_a_value() -> None:
    """Membership against a literal, an exclusion against a list, and
    numeric ranges: overlaps found only where a value fits both rows."""
    found = problems_of(
        table(
            ('? in ("agua", "vias")', '"IDAAN"'),
            ('"vias"', '"MOP"'),
            ('? not in ("agua", "vias")', '"MUPA"'),
            ('"salud"', '"MINSA"'),
            CATCH_ALL,
        )
    )
    assert [(e, s) for e, s, _ in found] == [("r2", "warning"), ("r4", "warning")]
    assert "n.º 1 y n.º 2" in found[0][2] and "n.º 3 y n.º 4" in found[1][2]
    numbers = problems_of(
        table(("< 5", "1"), (">= 5", "2"), ("3 < ? <= 10", "3"), CATCH_ALL)
    )
    assert [e for e, _, _ in numbers] == ["r3", "r3"]
    assert problems_of(table(("< 5", "1"), (">= 5", "2"), CATCH_ALL)) == []


def test_rows_apart_in_any_column_do_not_overlap() -> None:
    """Same category but different second column: no overlap; unknown
    expressions never make one; COLLECT tables may overlap freely."""
    two = table(
        ('"salud"', '"web"', '"MINSA"'),
        ('"salud"', '"telefono"', '"CSS"'),
        ('"salud"', "-", '"CSS"'),
        ("-", "-", '""'),
        inputs=2,
    )
    assert [e for e, _, _ in problems_of(two)] == ["r3", "r3"]
    unknown = table(('"salud"', '"MINSA"'), ("categoria.lower()", '"CSS"'), CATCH_ALL)
    assert problems_of(unknown) == []
    collect = table(('"salud"', '"MINSA"'), ('"salud"', '"CSS"'), policy="COLLECT")
    assert [s for _, s, _ in problems_of(collect)] == ["warning"]  # catch-all only


def test_feel_cells_the_engine_reads_otherwise_are_errors() -> None:
    """FEEL lists and not(...) never match; «in (...)» without ? fails:
    each an error on its row, with the way to write it."""
    found = problems_of(
        table(
            ('"agua", "vias"', '"IDAAN"'),
            ('not("salud")', '"MOP"'),
            ('in ("basura")', '"AAUD"'),
            CATCH_ALL,
        )
    )
    assert [(e, s) for e, s, _ in found] == [
        ("r1", "error"),
        ("r2", "error"),
        ("r3", "error"),
    ]
    assert found[0][2].endswith('Escríbalo así: ? in ("agua", "vias")')
    assert found[1][2].endswith('Escríbalo así: ? not in ("salud",)')
    assert "columna «categoria»" in found[2][2]


def test_a_broken_cell_refuses_the_deploy() -> None:
    """The same error through the bundle validator: nothing deploys."""
    files = queja_files()
    files["enrutamiento.dmn"] = files["enrutamiento.dmn"].replace(
        '<text>"salud"</text>', '<text>"salud", "hospitales"</text>'
    )
    try:
        registry.parse_bundle(files)
    except BundleInvalid as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
    else:  # pragma: no cover - the assertion below names the failure
        errors = []
    assert [(p.file, p.element) for p in errors] == [
        ("enrutamiento.dmn", "regla_salud")
    ]


def test_cells_are_read_as_spiffworkflow_runs_them() -> None:
    """Literals, ? tests, operator cells and ranges; anything else unknown."""
    assert read_cell(" - ").kind == "any" and read_cell(None).kind == "any"
    assert read_cell('"salud"').values == {"salud"}
    assert read_cell('? in ("a", "b")').values == {"a", "b"}
    assert read_cell('!= "a"').kind == "not_in"
    five = read_cell("1 < ? <= 5")
    assert (five.kind, five.low, five.low_in, five.high, five.high_in) == (
        "range",
        1,
        False,
        5,
        True,
    )
    assert read_cell("5 < ?").low == 5
    assert read_cell("ahora()").kind == "unknown"


def test_routes_to_unknown_inactive_or_not_answering_entities_warn() -> None:
    """The entity list comes from the caller: the bundles read no database."""
    xml = table(
        ('"salud"', '"MINSA"'),
        ('"vias"', '"MOP"'),
        ('"agua"', '"NADIE"'),
        ('"basura"', '"AAUD"'),
        CATCH_ALL,
    )
    known = {
        "MINSA": EntityFacts(True, frozenset({"salud"})),
        "MOP": EntityFacts(True, frozenset({"puentes"})),
        "AAUD": EntityFacts(False),
    }
    found = {
        p.element: (p.severity, p.message.text % p.message.params)
        for p in check_routing_entities({"t.dmn": xml}, known)
    }
    assert set(found) == {"r2", "r3", "r4"}
    assert found["r2"] == (
        "warning",
        "La tabla de enrutamiento envía «vias» a MOP, que no atiende esa "
        "categoría (atiende: puentes).",
    )
    assert "NADIE, que no existe" in found["r3"][1]
    assert "AAUD, que está inactiva" in found["r4"][1]
