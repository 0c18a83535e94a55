"""Two versions of a case type side by side, for the designer.

The diagrams' elements that differ (markers on both drawings), the forms
field by field and the decision tables rule by rule; see
:mod:`engine.bundles.version_diff`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.bundles.version_diff import (
    DiagramDiff,
    FieldChange,
    RuleChange,
    diagram_diff,
    form_diff,
    table_diff,
)
from engine.domain.views import Actor, VersionInfo
from engine.services.design import main_diagram, version_files
from engine.services.platform import Platform


@dataclass(frozen=True)
class VersionComparison:
    """What changed from ``old`` to ``new`` (two versions of one case type).

    ``old_diagram`` and ``new_diagram`` name each version's main diagram
    file (for the viewers to load).
    """

    old: VersionInfo
    new: VersionInfo
    old_diagram: str
    new_diagram: str
    diagram: DiagramDiff
    forms: list[FieldChange]
    tables: list[RuleChange]

    @property
    def unchanged(self) -> bool:
        """Whether nothing a designer authors differs."""
        return self.diagram.unchanged and not self.forms and not self.tables


def compare_versions(
    p: Platform, actor: Actor, case_type: str, old: int, new: int
) -> VersionComparison:
    """Compare version ``old`` with version ``new`` (designers only)."""
    old_info, old_files = version_files(p, actor, case_type, old)
    new_info, new_files = version_files(p, actor, case_type, new)
    old_name, old_bpmn = main_diagram(old_files, case_type)
    new_name, new_bpmn = main_diagram(new_files, case_type)
    return VersionComparison(
        old=old_info,
        new=new_info,
        old_diagram=old_name,
        new_diagram=new_name,
        diagram=diagram_diff(old_bpmn, new_bpmn),
        forms=form_diff(old_files, new_files),
        tables=table_diff(old_files, new_files),
    )
