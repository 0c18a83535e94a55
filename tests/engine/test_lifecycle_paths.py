"""Every path through the seed lifecycles, driven through ``engine.workflow.runtime``.

Each test files a case at an explicit instant (America/Panama) and moves the
engine's clock forward with :func:`engine.workflow.timekeeping.at` to fire the timers,
the way the worker does. The acceptance scenarios of DOMAIN.md are named
where they apply. Marks (``marca``) are read off the completed elements: the
engine's reaction to them is tested elsewhere.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from engine.bundles import forms, registry
from engine.bundles.registry import ParsedVersion
from engine.workflow import runtime
from engine.workflow.calendar import PANAMA
from engine.workflow.timekeeping import at

ROOT = Path(__file__).resolve().parents[2]
ENTIDADES = [
    "MINSA",
    "MOP",
    "IDAAN",
    "MIVIOT",
    "ATTT",
    "AAUD",
    "MEDUCA",
    "CSS",
    "ASEP",
    "MIAMBIENTE",
    "MUPA",
]
ROLES = {"agente_311", "supervisor_311", "enlace", "ciudadano"}

INTAKE = {
    "categoria": "salud",
    "asunto": "No hay médico en el centro de salud",
    "descripcion": "Desde el lunes el centro de salud de Pedregal atiende sin médico.",
    "ubicacion": "Centro de Salud de Pedregal",
}
ACEPTAR = {"decision": "aceptar", "entidad": "MINSA"}
RECHAZAR = {
    "decision": "rechazar",
    "motivo_rechazo": "Es un conflicto entre vecinos, no un servicio público.",
}
RESPONDER = {
    "accion": "responder",
    "respuesta": "Desde el jueves hay un médico asignado de 7:00 a 15:00.",
}
NO_COMPETENCIA = {
    "accion": "no_competencia",
    "motivo_no_competencia": "Las tuberías de agua potable son del IDAAN.",
}
PREGUNTAR = {
    "accion": "pedir_informacion",
    "pregunta": "¿En qué horario fue al centro de salud?",
}
VENCIMIENTO = {"nota": "Llamé al enlace; acusa recibo hoy."}
IDEA = {
    "categoria": "ambiente",
    "asunto": "Más bancas y sombra en el parque",
    "descripcion": "Propongo sembrar árboles y poner bancas en el parque de Betania.",
}
IDEA_ACEPTADA = {"decision": "aceptar", "entidad": "MUPA"}


def pa(day: str, hour: int = 9, minute: int = 0) -> datetime:
    """An instant in Panama: ``pa("2026-10-30", 19)``."""
    y, m, d = (int(p) for p in day.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=PANAMA)


#: Scenario 1: a call on Friday 2026-10-30 at 19:00.
FRIDAY_NIGHT = pa("2026-10-30", 19)


@pytest.fixture(scope="module")
def versions() -> dict[str, ParsedVersion]:
    """The seed bundles, parsed once (DMN tables from bpmn/shared included)."""
    bundles = registry.seed_bundles(ROOT / "bpmn", ROOT / "forms")
    return {key: registry.parse_bundle(files) for key, files in bundles.items()}


class Caso:
    """One case on the engine's clock, moved by hand."""

    def __init__(
        self, version: ParsedVersion, intake: dict[str, Any], when: datetime
    ) -> None:
        self.version = version
        self.now = when
        errors = forms.validate(version.form(version.start_form), intake)
        assert errors == {}, errors
        with at(when):
            self.wf = runtime.start(version, copy.deepcopy(intake))
        self._check()

    # -- reading ---------------------------------------------------------
    def snap(self) -> runtime.Snapshot:
        return runtime.snapshot(self.version, self.wf)

    def ready(self) -> list[str]:
        return [r.bpmn_id for r in self.snap().ready]

    def data(self, bpmn_id: str) -> dict[str, Any]:
        """The data of the ready task ``bpmn_id``."""
        (item,) = [r for r in self.snap().ready if r.bpmn_id == bpmn_id]
        return item.data

    def done(self) -> list[str]:
        """BPMN ids of the completed elements, in the order they completed."""
        tasks = self.wf.get_tasks(state=TaskState.COMPLETED)
        tasks.sort(key=lambda t: t.last_state_change)
        return [t.task_spec.bpmn_id for t in tasks if t.task_spec.bpmn_id]

    def marks(self) -> list[str]:
        """The ``marca`` of every completed element, in order."""
        found: list[str] = []
        for bpmn_id in self.done():
            marca = self.props(bpmn_id).get("marca", "")
            found.extend(m.strip() for m in marca.split(",") if m.strip())
        return found

    def props(self, bpmn_id: str) -> dict[str, str]:
        for spec in self.version.spec.task_specs.values():
            if getattr(spec, "bpmn_id", None) == bpmn_id:
                return dict(spec.extensions.get("properties", {}))
        raise KeyError(bpmn_id)

    # -- acting ----------------------------------------------------------
    def do(
        self,
        bpmn_id: str,
        data: dict[str, Any],
        when: datetime | None = None,
    ) -> None:
        """Complete the ready task ``bpmn_id`` with valid form data."""
        self.now = when or self.now + timedelta(minutes=30)
        info = self.version.tasks[bpmn_id]
        errors = forms.validate(
            self.version.form(info.form), data, {"entidades": ENTIDADES}
        )
        assert errors == {}, errors
        (item,) = [r for r in self.snap().ready if r.bpmn_id == bpmn_id]
        task = runtime.find_ready_task(self.wf, item.id)
        assert task is not None
        with at(self.now):
            runtime.complete(self.wf, task, data)
        self._check()

    def wait_until(self, when: datetime) -> None:
        """Let time pass to ``when`` and fire whatever timers fell due."""
        assert when >= self.now
        self.now = when
        with at(when):
            runtime.advance(self.wf)
        self._check()

    def _check(self) -> None:
        """Invariants after every step: lanes, forms and deadlines of ready tasks."""
        for item in self.snap().ready:
            info = self.version.tasks[item.bpmn_id]
            assert info.lane in ROLES, item.bpmn_id
            assert info.form in self.version.forms, item.bpmn_id
            plazo = self.props(item.bpmn_id).get("plazo")
            if plazo:
                due = datetime.fromisoformat(item.data[plazo])
                assert due.tzinfo is not None, (item.bpmn_id, plazo)


def file_queja(
    versions: dict[str, ParsedVersion],
    when: datetime = FRIDAY_NIGHT,
    **changes: Any,
) -> Caso:
    return Caso(versions["queja"], {**INTAKE, **changes}, when)


def accepted(versions: dict[str, ParsedVersion], **changes: Any) -> Caso:
    """A queja filed Fri 2026-10-30 19:00 and accepted for MINSA on Monday."""
    caso = file_queja(versions, **changes)
    caso.do("clasificar_caso", ACEPTAR, pa("2026-11-02", 8))
    return caso


def in_attention(versions: dict[str, ParsedVersion]) -> Caso:
    """…and acknowledged on Monday at 10:00: 10 business days to answer."""
    caso = accepted(versions)
    caso.do("acusar_recibo", {}, pa("2026-11-02", 10))
    assert caso.ready() == ["atender_caso"]
    # Nov 3, 5 and 10 are holidays: the 10th business day after Nov 2 is Nov 19.
    assert caso.data("atender_caso")["plazo_resolucion"] == "2026-11-20T04:59:59+00:00"
    return caso


# --- intake: deadlines and routing ------------------------------------------


def test_scenario_1_phone_queja_on_friday_night(versions) -> None:
    caso = file_queja(versions, pa("2026-10-30", 19))
    assert caso.ready() == ["clasificar_caso"]
    snap = caso.snap()
    assert snap.estado == "En revisión por el 311"
    data = caso.data("clasificar_caso")
    assert data["tipo_caso"] == "queja"
    assert (data["dias_acuse"], data["dias_resolucion"]) == (2, 10)
    # Friday does not count and Tuesday Nov 3 is a holiday: Wednesday Nov 4.
    assert data["plazo_acuse"] == "2026-11-05T04:59:59+00:00"
    assert data["recordatorio_acuse"] == "2026-11-04T04:59:59+00:00"
    assert data["reaperturas"] == 0
    assert data["entidad_sugerida"] == "MINSA"
    assert data["entidad"] == "MINSA"  # the agent's form comes prefilled
    assert caso.done()[:5] == [
        "inicio",
        "preparar_caso",
        "enrutar",
        "calcular_plazos",
        "fijar_plazo_acuse",
    ]
    # No timer runs before the agent accepts the case.
    assert snap.next_timer_at is None


@pytest.mark.parametrize(
    "filed",
    [pa("2026-12-18", 22), pa("2026-12-19", 23)],
    ids=["viernes", "sabado-noche"],
)
def test_scenario_2_web_queja_before_christmas(versions, filed: datetime) -> None:
    caso = file_queja(versions, filed)
    # Monday Dec 21 is the observed Día de Duelo Nacional: Wednesday Dec 23.
    assert caso.data("clasificar_caso")["plazo_acuse"] == "2026-12-24T04:59:59+00:00"


@pytest.mark.parametrize(
    ("categoria", "entidad"),
    [
        ("salud", "MINSA"),
        ("vias", "MOP"),
        ("agua", "IDAAN"),
        ("vivienda", "MIVIOT"),
        ("transito", "ATTT"),
        ("basura", "AAUD"),
        ("educacion", "MEDUCA"),
        ("seguro_social", "CSS"),
        ("servicios_publicos", "ASEP"),
        ("ambiente", "MIAMBIENTE"),
        ("municipal", "MUPA"),
        ("otro", ""),
    ],
)
def test_routing_suggests_the_entity(versions, categoria: str, entidad: str) -> None:
    caso = file_queja(versions, categoria=categoria)
    data = caso.data("clasificar_caso")
    assert data["entidad_sugerida"] == entidad
    assert data["entidad"] == entidad


def _decide(version: ParsedVersion, task_id: str, **data: Any) -> dict[str, Any]:
    """Evaluate the DMN table behind a business rule task on arbitrary data."""
    with at(pa("2026-10-30", 19)):
        wf = runtime.start(version, {**INTAKE})
    task = wf.get_next_task(state=TaskState.READY, manual=True)
    task.data.update(data)
    engine = version.spec.task_specs[task_id].dmnEngine
    return dict(engine.result(task))


def test_decision_tables_end_in_a_catch_all(versions) -> None:
    queja = versions["queja"]
    assert _decide(queja, "enrutar", categoria="astronomia") == {"entidad_sugerida": ""}
    assert _decide(queja, "calcular_plazos", tipo_caso="consulta") == {
        "dias_acuse": 2,
        "dias_resolucion": 10,
    }


@pytest.mark.parametrize(
    ("key", "dias"),
    [("queja", (2, 10)), ("denuncia", (2, 15)), ("sugerencia", (5, 0))],
)
def test_deadlines_by_case_type(versions, key: str, dias: tuple[int, int]) -> None:
    intake = IDEA if key == "sugerencia" else INTAKE
    caso = Caso(versions[key], intake, pa("2026-10-30", 19))
    data = caso.data("clasificar_caso")
    assert data["tipo_caso"] == key
    assert (data["dias_acuse"], data["dias_resolucion"]) == dias


# --- queja: classification --------------------------------------------------


def test_rejection_closes_the_case(versions) -> None:
    caso = file_queja(versions)
    caso.do("clasificar_caso", RECHAZAR)
    snap = caso.snap()
    assert snap.completed and snap.ready == []
    assert snap.end_event == "fin_rechazada"
    assert snap.estado == "Rechazada"
    assert caso.marks() == ["cerrado"]
    assert snap.next_timer_at is None


def test_acceptance_assigns_the_entity_and_starts_the_clock(versions) -> None:
    caso = file_queja(versions, categoria="otro")
    assert caso.data("clasificar_caso")["entidad"] == ""
    caso.do("clasificar_caso", {"decision": "aceptar", "entidad": "MUPA"})
    assert caso.ready() == ["acusar_recibo"]
    assert caso.snap().estado == "Asignada a la entidad"
    data = caso.data("acusar_recibo")
    assert data["entidad"] == "MUPA"
    assert caso.props("acusar_recibo")["plazo"] == "plazo_acuse"
    # The reminder is the next timer due.
    assert caso.snap().next_timer_at == datetime.fromisoformat(
        "2026-11-04T04:59:59+00:00"
    )


# --- queja: acknowledgement timers (scenario 5) -----------------------------


def test_scenario_5_reminder_then_breach_escalates(versions) -> None:
    caso = accepted(versions)
    caso.wait_until(pa("2026-11-03", 23))  # 04:00 UTC, the reminder is at 04:59:59
    assert caso.ready() == ["acusar_recibo"]
    assert caso.marks() == []

    caso.wait_until(pa("2026-11-04", 0, 1))
    assert caso.ready() == ["acusar_recibo"]  # a reminder creates no task
    assert caso.marks() == ["recordatorio"]
    assert "recordatorio_enviado" in caso.done()

    caso.wait_until(pa("2026-11-05", 0, 1))
    assert caso.ready() == ["acusar_recibo", "atender_vencimiento"]
    assert caso.marks() == ["recordatorio", "vencido"]
    assert caso.version.tasks["atender_vencimiento"].lane == "supervisor_311"
    # The citizen still sees the enlace's status, not the internal escalation.
    assert caso.snap().estado == "Asignada a la entidad"

    # The enlace acknowledges late: the flag clears, the answer clock starts.
    caso.do("acusar_recibo", {"nota": "Recibido tarde."}, pa("2026-11-05", 8))
    assert caso.ready() == ["atender_caso", "atender_vencimiento"]
    assert caso.marks()[-1] == "al_dia"
    caso.do("atender_vencimiento", VENCIMIENTO)
    assert caso.ready() == ["atender_caso"]
    assert "fin_vencimiento" in caso.done()
    assert not caso.snap().completed


def test_breach_of_the_answer_deadline_escalates(versions) -> None:
    caso = in_attention(versions)
    caso.wait_until(pa("2026-11-19", 23))  # deadline is the end of Nov 19
    assert caso.ready() == ["atender_caso"]
    caso.wait_until(pa("2026-11-20", 0, 1))
    assert caso.ready() == ["atender_caso", "atender_vencimiento"]
    assert caso.marks().count("vencido") == 1
    caso.do("atender_caso", RESPONDER)
    assert caso.ready() == ["encuesta", "atender_vencimiento"]


def test_timers_survive_a_restart(versions) -> None:
    caso = accepted(versions)
    state = runtime.dump_state(caso.wf)
    caso.wf = runtime.load_state(caso.version, state, runtime.FORMAT_VERSION)
    # Restored after both timers fell due: one advance fires both (in no
    # guaranteed order), and nothing fires twice.
    caso.wait_until(pa("2026-11-05", 6))
    assert caso.ready() == ["acusar_recibo", "atender_vencimiento"]
    assert sorted(caso.marks()) == ["recordatorio", "vencido"]
    caso.wait_until(pa("2026-11-06", 6))
    assert sorted(caso.marks()) == ["recordatorio", "vencido"]


# --- queja: transfer (scenario 4) -------------------------------------------


def test_scenario_4_transfer_to_another_entity(versions) -> None:
    caso = file_queja(versions, categoria="vias")
    caso.do(
        "clasificar_caso",
        {"decision": "aceptar", "entidad": "MOP"},
        pa("2026-11-02", 8),
    )
    caso.do("acusar_recibo", {}, pa("2026-11-02", 9))
    caso.do("atender_caso", NO_COMPETENCIA, pa("2026-11-04", 11))
    assert caso.ready() == ["reasignar_caso"]
    assert caso.version.tasks["reasignar_caso"].lane == "agente_311"
    assert caso.snap().estado == "Transferida a otra entidad"
    assert caso.data("reasignar_caso")["entidad"] == "MOP"

    caso.do(
        "reasignar_caso",
        {"entidad": "IDAAN", "nota": "Es una tubería."},
        pa("2026-11-04", 12),
    )
    assert caso.ready() == ["acusar_recibo"]
    assert "transferido" in caso.marks()
    data = caso.data("acusar_recibo")
    assert data["entidad"] == "IDAAN"
    # New acknowledgement deadline from the transfer: Fri 6 and Mon 9.
    assert data["plazo_acuse"] == "2026-11-10T04:59:59+00:00"
    assert data["recordatorio_acuse"] == "2026-11-09T04:59:59+00:00"

    caso.do("acusar_recibo", {}, pa("2026-11-05", 9))
    assert caso.ready() == ["atender_caso"]
    assert caso.data("atender_caso")["entidad"] == "IDAAN"
    assert caso.done().count("acusar_recibo") == 2


# --- queja: asking the citizen (scenario 9) ---------------------------------


def test_question_pauses_and_answer_resumes_the_deadline(versions) -> None:
    caso = in_attention(versions)
    caso.do("atender_caso", PREGUNTAR, pa("2026-11-04", 11))
    assert caso.ready() == ["responder_consulta"]
    assert caso.version.tasks["responder_consulta"].lane == "ciudadano"
    assert caso.snap().estado == "Esperando información del ciudadano"
    data = caso.data("responder_consulta")
    # Nov 6, 9, 11, 12, 13, 16, 17, 18, 19 were left.
    assert data["dias_restantes"] == 9
    assert data["plazo_consulta"] == "2026-11-21T04:59:59+00:00"
    assert caso.snap().next_timer_at == datetime.fromisoformat(data["plazo_consulta"])

    caso.do(
        "responder_consulta",
        {"respuesta_ciudadano": "Fui el martes a las 8:00."},
        pa("2026-11-09", 15),
    )
    assert caso.ready() == ["atender_caso"]
    # Nine business days from Monday Nov 9: the end of Monday Nov 23.
    plazo = caso.data("atender_caso")["plazo_resolucion"]
    assert plazo == "2026-11-24T04:59:59+00:00"
    assert caso.snap().next_timer_at == datetime.fromisoformat(plazo)


def test_scenario_9_no_answer_in_ten_business_days_closes(versions) -> None:
    caso = in_attention(versions)
    caso.do("atender_caso", PREGUNTAR, pa("2026-11-04", 11))
    caso.wait_until(pa("2026-11-20", 23))
    assert caso.ready() == ["responder_consulta"]
    caso.wait_until(pa("2026-11-21", 0, 1))
    snap = caso.snap()
    assert snap.completed and snap.ready == []
    assert snap.end_event == "fin_sin_respuesta"
    assert snap.estado == "Cerrada por falta de información"
    assert caso.marks()[-1] == "cerrado"
    assert "responder_consulta" not in caso.done()


# --- queja: answer and survey (scenario 6) ----------------------------------


def _answered(versions: dict[str, ParsedVersion]) -> Caso:
    caso = in_attention(versions)
    caso.do("atender_caso", RESPONDER, pa("2026-11-16", 10))
    assert caso.ready() == ["encuesta"]
    assert caso.snap().estado == "Respondida"
    assert "respuesta_enviada" in caso.done()
    assert caso.marks()[-1] == "cerrado"
    assert caso.props("encuesta")["encuesta"] == "true"
    assert caso.version.tasks["encuesta"].lane == "ciudadano"
    assert caso.data("encuesta")["plazo_encuesta"] == "2026-12-01T04:59:59+00:00"
    return caso


def test_good_rating_closes_the_case(versions) -> None:
    caso = _answered(versions)
    caso.do("encuesta", {"calificacion": 4, "comentario": "Gracias."})
    snap = caso.snap()
    assert snap.completed and snap.end_event == "fin_respondida"
    assert snap.estado == "Cerrada"
    assert caso.wf.data["calificacion"] == 4
    assert "reabierto" not in caso.marks()


def test_scenario_6_bad_rating_reopens_to_the_same_entity(versions) -> None:
    caso = _answered(versions)
    caso.do(
        "encuesta",
        {"calificacion": 2, "comentario": "No se resolvió."},
        pa("2026-11-17", 9),
    )
    assert caso.ready() == ["atender_caso"]
    assert caso.marks()[-1] == "reabierto"
    assert caso.done().count("caso_reabierto") == 1
    data = caso.data("atender_caso")
    assert data["reaperturas"] == 1
    assert data["entidad"] == "MINSA"
    assert data["plazo_resolucion"] == "2026-12-02T04:59:59+00:00"
    assert "calificacion" not in data  # the next survey starts blank

    caso.do("atender_caso", RESPONDER)
    caso.do("encuesta", {"calificacion": 5})
    snap = caso.snap()
    assert snap.completed and snap.end_event == "fin_respondida"
    assert caso.wf.data["reaperturas"] == 1


def test_survey_window_expires_and_closes(versions) -> None:
    caso = _answered(versions)
    caso.wait_until(pa("2026-11-30", 23))
    assert caso.ready() == ["encuesta"]
    caso.wait_until(pa("2026-12-01", 0, 1))
    snap = caso.snap()
    assert snap.completed and snap.end_event == "fin_respondida"
    assert snap.estado == "Cerrada"
    assert "encuesta" not in caso.done()


def test_closing_cancels_a_pending_escalation(versions) -> None:
    caso = accepted(versions)
    caso.wait_until(pa("2026-11-05", 6))
    assert "atender_vencimiento" in caso.ready()
    caso.do("acusar_recibo", {})
    caso.do("atender_caso", RESPONDER)
    caso.do("encuesta", {"calificacion": 3})
    snap = caso.snap()
    assert snap.completed and snap.ready == []
    assert snap.end_event == "fin_respondida"


# --- denuncia ----------------------------------------------------------------


def test_denuncia_happy_path_with_reserved_identity(versions) -> None:
    intake = {
        "categoria": "municipal",
        "asunto": "Cobro indebido en una ventanilla",
        "descripcion": "Un funcionario cobra por un trámite que es gratuito.",
        "identidad_reservada": True,
    }
    caso = Caso(versions["denuncia"], intake, pa("2026-10-30", 19))
    data = caso.data("clasificar_caso")
    assert data["tipo_caso"] == "denuncia"
    assert data["identidad_reservada"] is True
    assert data["entidad"] == "MUPA"
    assert data["plazo_acuse"] == "2026-11-05T04:59:59+00:00"
    caso.do(
        "clasificar_caso",
        {"decision": "aceptar", "entidad": "MUPA"},
        pa("2026-11-02", 8),
    )
    caso.do("acusar_recibo", {}, pa("2026-11-02", 10))
    # 15 business days after Monday Nov 2: Thursday Nov 26.
    assert caso.data("atender_caso")["plazo_resolucion"] == "2026-11-27T04:59:59+00:00"
    caso.do("atender_caso", RESPONDER)
    assert caso.snap().estado == "Respondida"
    caso.do("encuesta", {"calificacion": 5})
    snap = caso.snap()
    assert snap.completed and snap.end_event == "fin_respondida"
    assert caso.marks() == ["al_dia", "al_dia", "cerrado"]


def test_denuncia_may_be_anonymous(versions) -> None:
    intake = {
        "categoria": "otro",
        "asunto": "Uso de vehículo oficial",
        "descripcion": "Un vehículo oficial se usa los domingos para fines privados.",
    }
    caso = Caso(versions["denuncia"], intake, pa("2026-10-30", 19))
    caso.do("clasificar_caso", RECHAZAR)
    assert caso.snap().end_event == "fin_rechazada"


# --- sugerencia (scenario 8) -------------------------------------------------


@pytest.mark.parametrize(
    ("dictamen", "end", "estado"),
    [
        ("aceptada", "fin_aceptada", "Idea aceptada"),
        ("en_evaluacion", "fin_en_evaluacion", "Idea en evaluación"),
        ("rechazada", "fin_no_aceptada", "Idea no aceptada"),
    ],
)
def test_scenario_8_sugerencia_gets_an_official_answer(
    versions, dictamen: str, end: str, estado: str
) -> None:
    caso = Caso(versions["sugerencia"], IDEA, pa("2026-10-30", 19))
    caso.do("clasificar_caso", IDEA_ACEPTADA, pa("2026-11-02", 8))
    assert caso.ready() == ["responder_sugerencia"]
    data = caso.data("responder_sugerencia")
    # Five business days, no resolution deadline.
    assert data["plazo_acuse"] == "2026-11-12T04:59:59+00:00"
    assert data["dias_resolucion"] == 0
    assert "plazo_resolucion" not in data
    caso.do(
        "responder_sugerencia",
        {"dictamen": dictamen, "respuesta": "La entidad estudió su propuesta."},
    )
    snap = caso.snap()
    assert snap.completed and snap.end_event == end
    assert snap.estado == estado
    assert caso.marks() == ["al_dia", "cerrado"]


def test_sugerencia_reminder_and_escalation(versions) -> None:
    caso = Caso(versions["sugerencia"], IDEA, pa("2026-10-30", 19))
    caso.do("clasificar_caso", IDEA_ACEPTADA, pa("2026-11-02", 8))
    caso.wait_until(pa("2026-11-11", 0, 1))
    assert caso.marks() == ["recordatorio"]
    caso.wait_until(pa("2026-11-12", 0, 1))
    assert caso.ready() == ["responder_sugerencia", "atender_vencimiento"]
    assert caso.marks() == ["recordatorio", "vencido"]
    caso.do(
        "responder_sugerencia",
        {"dictamen": "aceptada", "respuesta": "Se instalarán más bancas en el parque."},
    )
    snap = caso.snap()
    assert snap.completed and snap.end_event == "fin_aceptada"


def test_sugerencia_rejected(versions) -> None:
    caso = Caso(versions["sugerencia"], IDEA, pa("2026-10-30", 19))
    caso.do("clasificar_caso", RECHAZAR)
    assert caso.snap().end_event == "fin_rechazada"
    assert caso.marks() == ["cerrado"]
