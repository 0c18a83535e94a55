"""The closed vocabularies match what is stored and what designers type."""

from __future__ import annotations

from engine.bundles.markup import LANE_ROLES
from engine.domain.enums import CaseStatus, EventKind, Role, TaskState
from engine.domain.views import ROLES


def test_every_role_has_a_label_and_lanes_are_roles() -> None:
    """The role list shown to people is exactly the enum; lanes are roles."""
    assert set(ROLES) == set(Role)
    assert set(LANE_ROLES) <= set(Role)


def test_members_are_the_stored_strings() -> None:
    """Members equal the values already in the database and in BPMN lanes."""
    assert str(Role.LIAISON) == "enlace" and f"{Role.AGENT}" == "agente_311"
    assert {str(CaseStatus.OPEN), str(CaseStatus.CLOSED)} == {"open", "closed"}
    assert str(TaskState.READY) == "ready"
    assert str(EventKind.TASK_COMPLETED) == "task_completed"
    # Stored rows compare equal to members (a StrEnum is a str).
    stored: str = "enlace"
    assert stored == Role.LIAISON and stored in {Role.LIAISON}
