"""What a run of a bundle's process tests reports (README "Process tests")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.domain.errors import Message


@dataclass(frozen=True)
class Check:
    """One expectation compared with what the case shows.

    ``expected`` and ``actual`` are written as in the scenario file (JSON).
    """

    field: str
    expected: str
    actual: str
    passed: bool


@dataclass(frozen=True)
class StepResult:
    """How one step went.

    ``number`` is 0 for the filing, the step's number (from 1) for the
    steps, and one more than the last for the final expectations.
    ``passed`` is None for a step not run (an earlier step failed).
    ``problem`` says why a step's action failed; failed expectations are
    in ``checks``. ``path`` holds the BPMN ids the step completed, in
    order; ``at`` is the frozen clock after the step.
    """

    number: int
    kind: str
    label: Message
    passed: bool | None
    at: datetime | None = None
    task: str | None = None
    problem: Message | None = None
    checks: list[Check] = field(default_factory=list)
    path: list[str] = field(default_factory=list)

    @property
    def failed_checks(self) -> list[Check]:
        """The expectations not met."""
        return [c for c in self.checks if not c.passed]


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario played against the engine.

    ``path`` is every element the case went through, in order (repeated
    when a loop passes again); ``current`` the elements active at the end
    (user tasks, armed timers).
    """

    file: str
    name: str
    description: str
    passed: bool
    steps: list[StepResult]
    path: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def path_names(self) -> list[str]:
        """The path as element names (ids where unnamed), for people."""
        return [self.names.get(i) or i for i in self.path]


@dataclass(frozen=True)
class ScenarioReport:
    """Every scenario of a version, played; ``diagram`` is its main diagram file."""

    case_type: str
    version: int
    title: str
    diagram: str | None
    results: list[ScenarioResult]
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        """How many scenarios passed."""
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        """How many scenarios failed."""
        return len(self.results) - self.passed
