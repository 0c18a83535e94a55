"""Process tests in the designer area: play a deployed version's scenarios.

The runner itself is :mod:`engine.services.scenario_runs` (every deploy
calls it too); this module is what the version page's "Probar escenarios"
asks for: the role check, the version's files, and a report to show.
"""

from __future__ import annotations

import time

from engine.domain.errors import NotFound
from engine.domain.scenarios import ScenarioReport
from engine.domain.views import Actor
from engine.services import design
from engine.services.platform import Platform
from engine.services.scenario_runs import run_scenarios


def version_scenarios(
    p: Platform, actor: Actor, case_type: str, version: int
) -> ScenarioReport:
    """Play the scenarios of a deployed version (designers and admins).

    Nothing is written to the platform: each scenario runs in a sandbox.
    Raises :class:`NotAllowed` for other roles and :class:`NotFound` for an
    unknown version.
    """
    info, files = design.version_files(p, actor, case_type, version)
    started = time.monotonic()
    parsed = p.specs.get(info.content_hash, lambda: files)
    results = run_scenarios(files, specs=p.specs, parsed=parsed)
    try:
        diagram: str | None = design.main_diagram(files, case_type)[0]
    except NotFound:
        diagram = None
    return ScenarioReport(
        case_type=info.case_type,
        version=info.version,
        title=info.title,
        diagram=diagram,
        results=results,
        seconds=time.monotonic() - started,
    )
