"""A practice case saved as a process test (``…/practica/<numero>/escenario``).

The designer names the scenario beside the practice case; the engine writes
it into a new draft (:mod:`engine.services.scenario_recording`), whose
deploy plays every scenario. The designer lands on the new draft's results.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_babel import gettext

from engine.domain.errors import BundleInvalid, InvalidData
from engine.services import scenario_recording
from webapp.designer import bp
from webapp.helpers import current_actor, platform, translate


@bp.post("/<tipo>/v/<int:n>/practica/<numero>/escenario")
def record_scenario(tipo: str, n: int, numero: str) -> Any:
    """Save practice case ``numero`` as a scenario of a new draft."""
    actor = current_actor()
    assert actor is not None
    back = redirect(url_for("designer.practice_page", tipo=tipo, n=n), code=303)
    name = request.form.get("nombre", "")
    try:
        done = scenario_recording.record_scenario(platform(), actor, numero, name)
    except InvalidData as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(translate(message), "error")
        return back
    except BundleInvalid as exc:
        flash(
            gettext(
                "El escenario no se guardó: al reproducirlo, el proceso no "
                "hizo lo mismo. Revise estos problemas:"
            ),
            "error",
        )
        for problem in exc.problems:
            flash(translate(problem.message), "error")
        return back
    flash(
        gettext(
            "Se guardó el escenario «%(name)s» en el borrador %(version)s, "
            "y sus escenarios pasaron.",
            name=" ".join(name.split()),
            version=done.version.version,
        ),
        "success",
    )
    return redirect(
        url_for("designer.scenario_results", tipo=tipo, n=done.version.version),
        code=303,
    )
