"""Inbox tabs and who holds a task: claim, release, reassign, bulk, 409s."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from engine import services
from engine.domain.errors import Conflict, NotAllowed, NotFound
from engine.services import accounts, inbox
from engine.services.platform import Platform
from engine.store.accounts import AuditLog
from engine.store.models import Case, CaseEvent, HumanTask
from tests.conftest import ON_POSTGRES

INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}


def login(p: Platform, username: str):
    """The Actor of a demo (or test-made) user."""
    return accounts.authenticate(p, username, "demo311", client="tests")


def add_user(p: Platform, username: str, role: str, entity: str | None = None):
    """A second person in a role (and entity)."""
    return accounts.create_user(
        p,
        username,
        username.title(),
        "demo311",
        [role],
        entity_codes=[entity] if entity else [],
        min_password=1,
    )


def agent_task(p: Platform) -> tuple[str, str]:
    """File a queja: (case number, id of the agent's classification task)."""
    number = services.open_case(p, "queja", INTAKE).number
    with p.db.read() as s:
        task_id = s.scalars(
            select(HumanTask.id)
            .join(Case, Case.id == HumanTask.case_id)
            .where(Case.number == number, HumanTask.state == "ready")
        ).first()
    assert task_id is not None
    return number, task_id


def enlace_task(p: Platform, entity: str = "MINSA") -> tuple[str, str]:
    """A queja routed to ``entity``: (number, id of the enlace's task)."""
    number, task_id = agent_task(p)
    services.complete_task(
        p, login(p, "agente"), task_id, {"decision": "aceptar", "entidad": entity}
    )
    with p.db.read() as s:
        (enlace_id,) = s.scalars(
            select(HumanTask.id)
            .join(Case, Case.id == HumanTask.case_id)
            .where(Case.number == number, HumanTask.state == "ready")
        ).all()
    return number, enlace_id


def ids(page) -> list[str]:
    """The task ids of a queue page."""
    return [t.id for t in page.tasks]


def test_claim_moves_the_task_from_the_queue_to_mine(seeded):
    """A claimed task leaves the role's unclaimed tab and shows under "mine"."""
    _, task_id = agent_task(seeded)
    agent = login(seeded, "agente")
    before = services.list_queue(seeded, agent)
    assert before.tab == "role" and ids(before) == [task_id]
    assert before.counts == {"mine": 0, "role": 1, "overdue": 0}
    done = services.claim_task(seeded, agent, task_id)
    assert (done.tasks, done.holder) == (1, "Ana Agente")
    mine = services.list_queue(seeded, agent)
    assert mine.tab == "mine" and ids(mine) == [task_id]
    assert mine.tasks[0].assignee == "Ana Agente"
    assert mine.counts == {"mine": 1, "role": 0, "overdue": 0}
    assert ids(services.list_queue(seeded, agent, "role")) == []


def test_a_claim_is_a_private_event_and_an_audit_record(seeded):
    """Claim, release and assignment each write a timeline event and audit row."""
    number, task_id = agent_task(seeded)
    agent, boss = login(seeded, "agente"), login(seeded, "supervisor")
    services.claim_task(seeded, agent, task_id)
    services.release_task(seeded, agent, task_id)
    services.assign_task(seeded, boss, task_id, agent.id)
    with seeded.db.read() as s:
        events = [
            (e.kind, e.public, e.actor_label, e.data)
            for e in s.scalars(
                select(CaseEvent)
                .where(CaseEvent.kind.like("task_%"))
                .order_by(CaseEvent.id)
            )
        ]
        audits = [
            (a.action, a.actor, a.detail["case"])
            for a in s.scalars(
                select(AuditLog)
                .where(AuditLog.action.like("task_%"))
                .order_by(AuditLog.id)
            )
        ]
    task = "Clasificar la queja"
    ana, boss_name = "Ana Agente", "Sergio Supervisor"
    # Each with the role its actor acted in (the supervisor's own, not the
    # task's lane).
    agent, supervisor = {"role": "agente_311"}, {"role": "supervisor_311"}
    assert events == [
        ("task_claimed", False, ana, {"task": task, "from": None, "to": ana} | agent),
        ("task_released", False, ana, {"task": task, "from": ana, "to": None} | agent),
        (
            "task_assigned",
            False,
            boss_name,
            {"task": task, "from": None, "to": ana} | supervisor,
        ),
    ]
    assert audits == [
        ("task_claimed", "agente", number),
        ("task_released", "agente", number),
        ("task_assigned", "supervisor", number),
    ]
    # The case page's timeline shows them to staff.
    case = services.get_case(seeded, boss, number)
    assert [e.kind for e in case.events if e.kind.startswith("task_c")] == [
        "task_claimed"
    ]


def test_someone_elses_claim_is_a_conflict_naming_them(seeded):
    """A second claim gets 409 naming who holds the task; one's own is a no-op."""
    _, task_id = agent_task(seeded)
    agent, boss = login(seeded, "agente"), login(seeded, "supervisor")
    services.claim_task(seeded, agent, task_id)
    assert services.claim_task(seeded, agent, task_id).tasks == 0
    with pytest.raises(Conflict) as err:
        services.claim_task(seeded, boss, task_id)
    assert err.value.message.params == {"who": "Ana Agente"}


def test_only_what_one_may_do_is_claimed(seeded):
    """Claiming is for the task's role, and the task's entity for enlaces."""
    _, minsa_task = enlace_task(seeded, "MINSA")
    for username in ("enlace.mop", "agente", "supervisor", "disenador"):
        with pytest.raises(NotAllowed):
            services.claim_task(seeded, login(seeded, username), minsa_task)
    with pytest.raises(NotFound):
        services.claim_task(seeded, login(seeded, "agente"), "no-such-task")


def test_an_enlace_reaches_no_other_entitys_task(seeded):
    """Claim, release and reassign of another entity's task are all refused."""
    _, minsa_task = enlace_task(seeded, "MINSA")
    minsa, mop = login(seeded, "enlace.minsa"), login(seeded, "enlace.mop")
    services.claim_task(seeded, minsa, minsa_task)
    with pytest.raises(NotAllowed):
        services.release_task(seeded, mop, minsa_task)
    with pytest.raises(NotAllowed):
        services.assign_task(seeded, mop, minsa_task, mop.id)
    with pytest.raises(NotAllowed):
        services.get_task(seeded, mop, minsa_task)
    for tab in ("mine", "role", "entity", "overdue"):
        assert minsa_task not in ids(services.list_queue(seeded, mop, tab))
    assert ids(services.list_queue(seeded, minsa, "entity")) == [minsa_task]


def test_release_is_for_the_holder_or_a_supervisor(seeded):
    """Another agent may not release a claim; the supervisor may."""
    _, task_id = agent_task(seeded)
    other = add_user(seeded, "otra.agente", "agente_311")
    agent, boss = login(seeded, "agente"), login(seeded, "supervisor")
    services.claim_task(seeded, agent, task_id)
    with pytest.raises(NotAllowed) as err:
        services.release_task(seeded, other, task_id)
    assert err.value.message.params == {"who": "Ana Agente"}
    assert services.release_task(seeded, boss, task_id).tasks == 1
    assert ids(services.list_queue(seeded, other, "role")) == [task_id]


def test_reassigning_stays_within_the_group(seeded):
    """Enlaces within their entity, agents among agents; no one else."""
    _, minsa_task = enlace_task(seeded, "MINSA")
    second = add_user(seeded, "enlace2.minsa", "enlace", "MINSA")
    minsa, mop = login(seeded, "enlace.minsa"), login(seeded, "enlace.mop")
    agent = login(seeded, "agente")
    with pytest.raises(NotAllowed) as err:
        services.assign_task(seeded, minsa, minsa_task, mop.id)
    assert err.value.message.params == {"who": "Mario Enlace (MOP)"}
    with pytest.raises(NotAllowed):
        services.assign_task(seeded, minsa, minsa_task, agent.id)
    assert services.assign_task(seeded, minsa, minsa_task, second.id).holder == (
        "Enlace2.Minsa"
    )
    assert ids(services.list_queue(seeded, second, "mine")) == [minsa_task]
    _, task_id = agent_task(seeded)
    other = add_user(seeded, "otra.agente", "agente_311")
    services.assign_task(seeded, agent, task_id, other.id)
    with pytest.raises(NotAllowed):
        services.assign_task(seeded, agent, task_id, minsa.id)
    with pytest.raises(NotAllowed):
        services.assign_task(seeded, minsa, task_id, minsa.id)
    with pytest.raises(NotFound):
        services.assign_task(seeded, agent, task_id, 999_999)


def test_a_supervisor_reassigns_anywhere_to_who_may_do_it(seeded):
    """Supervisors hand an entity's task to its enlaces, never to others."""
    _, minsa_task = enlace_task(seeded, "MINSA")
    boss, minsa = login(seeded, "supervisor"), login(seeded, "enlace.minsa")
    view = services.get_task(seeded, boss, minsa_task)
    assert not view.may_complete
    assert [u.name for u in view.assignable] == ["Elena Enlace (MINSA)"]
    with pytest.raises(NotAllowed):
        services.assign_task(seeded, boss, minsa_task, login(seeded, "agente").id)
    services.assign_task(seeded, boss, minsa_task, minsa.id)
    assert services.get_task(seeded, minsa, minsa_task).assignee == (
        "Elena Enlace (MINSA)"
    )
    with pytest.raises(NotAllowed):
        services.complete_task(seeded, boss, minsa_task, {})


def test_completing_someone_elses_task_asks_for_confirmation(seeded):
    """409 naming the holder, nothing stored; confirmed, it completes."""
    number, task_id = agent_task(seeded)
    agent, boss = login(seeded, "agente"), login(seeded, "supervisor")
    services.claim_task(seeded, agent, task_id)
    data = {"decision": "aceptar", "entidad": "MINSA"}
    with pytest.raises(Conflict) as err:
        services.complete_task(seeded, boss, task_id, data)
    assert err.value.message.params == {"who": "Ana Agente"}
    view = services.get_task(seeded, boss, task_id)
    assert (view.state, view.assignee) == ("ready", "Ana Agente")
    done = services.complete_task(seeded, boss, task_id, data, take_over=True)
    assert done.case_number == number
    with seeded.db.read() as s:
        row = s.get(HumanTask, task_id)
        assert row is not None and row.completed_by_label == "Sergio Supervisor"


def test_ones_own_or_an_unclaimed_task_completes_as_before(seeded):
    """No confirmation for the holder, nor for a task nobody holds."""
    _, mine = agent_task(seeded)
    _, free = agent_task(seeded)
    agent = login(seeded, "agente")
    services.claim_task(seeded, agent, mine)
    data = {"decision": "aceptar", "entidad": "MINSA"}
    services.complete_task(seeded, agent, mine, data)
    services.complete_task(seeded, agent, free, data)
    with pytest.raises(Conflict):  # and a done task cannot be claimed
        services.claim_task(seeded, agent, mine)


def test_bulk_assign_is_all_or_nothing_and_for_supervisors(seeded):
    """A supervisor hands many tasks at once; one it cannot refuses the lot."""
    tasks = [agent_task(seeded)[1] for _ in range(3)]
    _, minsa_task = enlace_task(seeded, "MINSA")
    boss, agent = login(seeded, "supervisor"), login(seeded, "agente")
    with pytest.raises(NotAllowed):
        services.bulk_assign(seeded, agent, tasks, agent.id)
    with pytest.raises(NotAllowed) as err:
        services.bulk_assign(seeded, boss, [*tasks, minsa_task], agent.id)
    assert err.value.message.params["who"] == "Ana Agente"
    assert ids(services.list_queue(seeded, agent, "mine")) == []
    done = services.bulk_assign(seeded, boss, tasks, agent.id)
    assert done.tasks == 3 and len(done.case_numbers) == 3
    assert sorted(ids(services.list_queue(seeded, agent, "mine"))) == sorted(tasks)
    assert [u.name for u in services.list_queue(seeded, boss).assignable][:2] == [
        "Ana Agente",
        "Sergio Supervisor",
    ]


def test_tabs_page_and_sort_by_due_date(seeded, monkeypatch):
    """Due tasks first, soonest first; pages of PAGE_SIZE; counts are capped."""
    monkeypatch.setattr(inbox, "PAGE_SIZE", 2)
    minsa = login(seeded, "enlace.minsa")
    made = [enlace_task(seeded, "MINSA")[1] for _ in range(3)]
    undated = agent_task(seeded)[1]
    with seeded.db.transaction() as s:
        # Each step sets the same due date; spread them to see the order.
        for hours, task_id in zip((30, 10, 20), made, strict=True):
            s.execute(
                update(HumanTask)
                .where(HumanTask.id == task_id)
                .values(due_at=seeded.clock() + timedelta(hours=hours))
            )
    first = services.list_queue(seeded, minsa, "entity", page=1)
    second = services.list_queue(seeded, minsa, "entity", page=2)
    assert ids(first) + ids(second) == [made[1], made[2], made[0]]
    assert (first.pages, first.counts["entity"]) == (2, 3)
    boss = login(seeded, "supervisor")
    monkeypatch.setattr(inbox, "COUNT_LIMIT", 2)
    capped = services.list_queue(seeded, boss, "entity")
    assert capped.counts["entity"] == 2 and "entity" in capped.capped
    monkeypatch.setattr(inbox, "COUNT_LIMIT", 1000)
    # A tab of several lanes: the supervisor's roles, dated before undated.
    later = seeded.clock() + timedelta(days=60)
    monkeypatch.setattr(seeded, "clock", lambda: later)
    overdue = services.list_queue(seeded, boss, "overdue")
    assert ids(overdue) == [made[1], made[2]] and overdue.counts["overdue"] == 3
    assert undated not in ids(services.list_queue(seeded, boss, "overdue", page=2))


def test_tabs_follow_the_role(seeded):
    """Agents have no entity tab; designers have no inbox."""
    agent = login(seeded, "agente")
    assert services.list_queue(seeded, agent).tabs == ["mine", "role", "overdue"]
    with pytest.raises(NotAllowed):
        services.list_queue(seeded, agent, "entity")
    with pytest.raises(NotAllowed):
        services.list_queue(seeded, login(seeded, "disenador"))
    boss = login(seeded, "supervisor")
    assert services.list_queue(seeded, boss).tabs == [
        "mine",
        "role",
        "entity",
        "overdue",
    ]


TABS_OF = {
    "agente": ["mine", "role", "overdue"],  # agents have no entity tab
    "supervisor": ["mine", "role", "entity", "overdue"],
    "enlace.minsa": ["mine", "role", "entity", "overdue"],
}


@pytest.mark.parametrize(
    ("username", "tab"),
    [(user, tab) for user, tabs in TABS_OF.items() for tab in tabs],
)
def test_every_tab_walks_an_index(seeded, tab, username):
    """Each lane's first page and count are read through an index.

    On PostgreSQL (the scale target), through the tab's partial index, in
    its order: no table scan and no sort beyond the id's tie-break.
    """
    actor = login(seeded, username)
    statements = inbox.first_page_statements(actor, tab, seeded.clock())
    assert statements
    with seeded.db.engine.connect() as conn:
        if ON_POSTGRES:
            # A small table would be read whole; what matters is that the
            # index can serve the query (its predicate proven).
            conn.execute(text("SET enable_seqscan = off"))
            conn.execute(text("SET enable_bitmapscan = off"))
            # Nor sorted whole: the index gives the order (an incremental
            # sort may break ties of equal due and creation times by id).
            conn.execute(text("SET enable_sort = off"))
        for statement in statements:
            compiled = statement.compile(
                dialect=conn.dialect, compile_kwargs={"literal_binds": True}
            )
            prefix = "EXPLAIN" if ON_POSTGRES else "EXPLAIN QUERY PLAN"
            lines = [str(row[-1]) for row in conn.execute(text(f"{prefix} {compiled}"))]
            plan = "\n".join(lines)
            if ON_POSTGRES:
                nodes = [line.strip(" ->") for line in lines]
                assert not any(n.startswith(("Seq Scan", "Sort  (")) for n in nodes), (
                    plan
                )
                assert "ix_human_task_" in plan, plan
                assert "ix_human_task_inbox" not in plan, plan
            else:
                # SQLite without statistics may pick the older inbox index;
                # either way it searches an index instead of the table.
                assert "SCAN human_task" not in plan, plan
                assert "USING INDEX ix_human_task_" in plan, plan


def test_two_concurrent_claims_one_wins(seeded):
    """Two people claiming at once: one holds the task, the other is told who."""
    _, task_id = agent_task(seeded)
    people = [login(seeded, "agente"), add_user(seeded, "otra.agente", "agente_311")]
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def claim(person) -> None:
        start.wait()
        try:
            services.claim_task(seeded, person, task_id)
            outcomes[person.name] = "won"
        except Conflict as exc:
            outcomes[person.name] = exc.message.params["who"]

    threads = [threading.Thread(target=claim, args=(who,)) for who in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    (winner,) = [name for name, outcome in outcomes.items() if outcome == "won"]
    (loser,) = [outcome for outcome in outcomes.values() if outcome != "won"]
    assert loser == winner
    with seeded.db.read() as s:
        events = s.scalars(
            select(CaseEvent.actor_label).where(CaseEvent.kind == "task_claimed")
        ).all()
    assert events == [winner]
