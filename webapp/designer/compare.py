"""Two versions of a case type side by side (``/diseno/<tipo>/comparar``).

Both diagrams drawn with what was added, removed or changed marked, and
the forms' fields and the decision tables' rules that changed listed one
by one. Without JavaScript the lists say everything the drawings show.
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request

from engine.services import comparison
from webapp.designer import bp, element_kinds
from webapp.helpers import current_actor, platform


def _kinds() -> dict[str, str]:
    """BPMN element types in words, keyed by the XML's local names
    (``userTask``), as the modeler's panel names them."""
    return {k[0].lower() + k[1:]: v for k, v in element_kinds().items()}


@bp.get("/<tipo>/comparar")
def compare(tipo: str) -> Any:
    """Compare version ``de`` with version ``a`` (by default: ``a`` with the
    one before it)."""
    try:
        new = int(request.args.get("a", ""))
        old = int(request.args.get("de", new - 1))
    except ValueError:
        abort(404)
    if old < 1 or new < 1:
        abort(404)
    actor = current_actor()
    assert actor is not None
    found = comparison.compare_versions(platform(), actor, tipo, old, new)
    return render_template("designer/compare.html", c=found, kinds=_kinds())
