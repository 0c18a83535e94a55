"""The closed vocabularies match what is stored and what designers type."""

from __future__ import annotations

from engine.bundles.markup import LANE_ROLES
from engine.domain.enums import CaseStatus, Channel, EventKind, Role, TaskState
from engine.domain.views import CHANNELS, ROLES, STAFF_CHANNELS


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


def test_channels_are_english_and_each_has_a_spanish_label() -> None:
    """Stored channel values are the code's (English); people read the labels."""
    assert set(CHANNELS) == set(Channel)
    assert [str(c) for c in STAFF_CHANNELS] == ["phone", "in_person", "email", "web"]
    assert {str(c) for c in Channel} == {
        "web",
        "phone",
        "in_person",
        "email",
        "open311",
    }
    assert CHANNELS[Channel.IN_PERSON] == "Presencial"
    assert "presencial" not in CHANNELS and "correo" not in CHANNELS
