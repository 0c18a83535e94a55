"""Moving running cases to a newer version (``/diseno/<tipo>/v/<n>/trasladar``).

The page lists the open cases of older versions, each with whether
SpiffWorkflow's diff lets it move and why not; the designer moves chosen
cases, or every movable case of an older version in batches, and gets a
report case by case.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from engine.services import case_moves, design
from webapp.designer import bp
from webapp.helpers import current_actor, platform, translate


def _actor() -> Any:
    actor = current_actor()
    assert actor is not None
    return actor


@bp.route("/<tipo>/v/<int:n>/trasladar", methods=["GET", "POST"])
def move_cases(tipo: str, n: int) -> Any:
    """Open cases of older versions; move the chosen ones to version ``n``.

    Each case is checked with SpiffWorkflow's diff: the page says why a case
    cannot move, and a refused move leaves the case as it was.
    """
    p = platform()
    info, _ = design.version_files(p, _actor(), tipo, n)
    if request.method == "POST":
        chosen = [c for c in request.form.getlist("casos") if c]
        if not chosen:
            flash(gettext("Elija al menos un caso para trasladar."), "error")
            return redirect(url_for("designer.move_cases", tipo=tipo, n=n), code=303)
        refused = case_moves.migrate_cases(p, _actor(), tipo, n, chosen)
        moved = len(chosen) - len(refused)
        if moved:
            flash(
                ngettext(
                    "Se trasladó %(num)s caso a la versión %(version)s.",
                    "Se trasladaron %(num)s casos a la versión %(version)s.",
                    moved,
                    version=n,
                ),
                "success",
            )
        for number, reasons in refused.items():
            flash(
                gettext(
                    "El caso %(number)s no se trasladó: %(reasons)s",
                    number=number,
                    reasons="; ".join(translate(r) for r in reasons),
                ),
                "error",
            )
        return redirect(url_for("designer.move_cases", tipo=tipo, n=n), code=303)
    candidates = case_moves.migration_candidates(p, _actor(), tipo, n)
    older = case_moves.older_versions(p, _actor(), tipo, n)
    return render_template(
        "designer/move_cases.html",
        info=info,
        candidates=candidates,
        older=older,
        batch=case_moves.BATCH,
    )


@bp.post("/<tipo>/v/<int:n>/trasladar/todos")
def move_all(tipo: str, n: int) -> Any:
    """Move every movable open case of version ``desde`` (next batch after
    case id ``despues_de``) and show the report of each case."""
    try:
        source = int(request.form.get("desde", ""))
        after = int(request.form.get("despues_de", "0"))
    except ValueError:
        abort(400)
    p = platform()
    info, _ = design.version_files(p, _actor(), tipo, n)
    report = case_moves.move_batch(p, _actor(), tipo, source, n, after=max(after, 0))
    return render_template("designer/move_report.html", info=info, report=report)
