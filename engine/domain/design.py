"""Plain dataclasses of the designer's pages: a diagram's elements and a
form's preview."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.domain.errors import Message
from engine.domain.views import FormView


@dataclass(frozen=True)
class DiagramElements:
    """Elements of a case's diagram in one state: ids for the markers, names
    as text for whoever cannot see the drawing."""

    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FormPreview:
    """What the form editor's preview shows: the form, or why it cannot.

    ``problems`` says why the form itself cannot be shown (then ``form`` is
    None). With sample data, ``data_problems`` says why it could not be
    checked, ``errors`` holds the messages per field (``""``: the whole
    form) and ``stray`` those on names the form has no field for.
    """

    problems: list[Message]
    form: FormView | None = None
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[Message]] = field(default_factory=dict)
    data_problems: list[Message] = field(default_factory=list)
    stray: dict[str, list[Message]] = field(default_factory=dict)
    tested: bool = False
