"""Admin pages in a real Chromium: a supervisor is deactivated while logged
in, and their open session stops working on their next request; the task
they held goes back to the queue. The admin pages pass axe."""

from __future__ import annotations

from typing import Any

from engine.store.models import HumanTask
from tests.e2e.conftest import (
    deactivate_signed_in_supervisor,
    supervisor_holds_a_case,
)

INTAKE = {
    "categoria": "agua",
    "asunto": "Fuga de agua en la vía",
    "descripcion": "Hay una fuga de agua potable frente a la escuela desde el lunes.",
}


def test_a_deactivated_supervisor_is_logged_out_at_once(
    app: Any, live_server: str, browser: Any
) -> None:
    """Two browsers: the supervisor holds a task; the admin deactivates them
    on /admin/usuarios; the supervisor's next click lands on the login page."""
    p = app.extensions["centro311"]
    number, task_id = supervisor_holds_a_case(p, INTAKE)
    deactivate_signed_in_supervisor(browser, live_server, number)
    with p.db.read() as s:
        assert s.get(HumanTask, task_id).assignee_id is None
