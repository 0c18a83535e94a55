"""Browser fixtures: the app on a real port, a headless Chromium, one page per
test, and helpers for accessibility checks (axe-core) and screenshots."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
IN_CI = os.environ.get("CI") == "true"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def _missing(what: str) -> None:
    """Fail in CI, skip elsewhere, when a browser-test prerequisite is absent."""
    if IN_CI:
        pytest.fail(f"CI=true but {what}")
    pytest.skip(what)


@pytest.fixture
def live_server(app: Any) -> Iterator[str]:
    """Serve the test app on a free local port; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium (the Debian package) for the whole session."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if not AXE.exists():
        _missing(f"{AXE.relative_to(ROOT)} is missing (run npm ci)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page for each test.

    bypass_csp lets axe-core be injected despite the app's strict CSP."""
    context = browser.new_context(
        bypass_csp=True, viewport={"width": 1200, "height": 900}, locale="es-PA"
    )
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


_AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map(v => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}"""


def check_a11y(page: Any, name: str) -> None:
    """Run axe-core (WCAG 2.0/2.1 A and AA) on the page; fail on any violation."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(_AXE_RUN, AXE_TAGS)
    if violations:
        lines = [f"axe found {len(violations)} violation(s) on {name} ({page.url}):"]
        for v in violations:
            targets = ", ".join(v["targets"][:3])
            more = len(v["targets"]) - 3
            if more > 0:
                targets += f" (+{more} more)"
            lines.append(f"  - {v['id']} [{v['impact']}] {v['help']}: {targets}")
        pytest.fail("\n".join(lines), pytrace=False)


def shot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- Steps several browser tests take (the onboarding chain joins them) ------


@pytest.fixture
def smtp(app: Any) -> Iterator[Any]:
    """A local SMTP server the app's worker sends to; yields its inbox."""
    from aiosmtpd.controller import Controller

    from tests.engine.test_mail_delivery import Inbox, free_port

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield inbox
    controller.stop()


def mail_text(raw: str) -> tuple[str, str]:
    """(subject, plain text) of a raw message, which must carry an HTML
    alternative too (every citizen mail does)."""
    from email import message_from_string, policy

    message = message_from_string(raw, policy=policy.default)
    assert message.get_body(preferencelist=("html",)) is not None
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    return str(message["Subject"]), str(plain.get_content())


WIDTHS = (390, 1280)


def at_both_widths(page: Any, name: str) -> None:
    """axe-core and a screenshot (``<name>-<width>``) at 390 px and at
    1280 px, nothing wider than the window."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        check_a11y(page, f"{name}-{width}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth"
            " - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways at {width} px"
        shot(page, f"{name}-{width}")


def send_all_mail(app: Any) -> int:
    """Run worker passes until the outbox is empty; how many were sent."""
    from webapp.cli import worker_pass

    total = 0
    while (sent := worker_pass(app)[1]) > 0:
        total += sent
    return total


def mailed_link(inbox: Any, base: str, recipient: str) -> str:
    """The sign-in link of the one message ``recipient`` received, on the
    live server."""
    from email import message_from_string
    from email.policy import default as default_policy

    from tests.conftest import must_search

    (raw,) = [raw for to, raw in inbox.messages if to == [recipient]]
    part = message_from_string(raw, policy=default_policy).get_body()
    assert part is not None
    body = part.get_content()
    path = must_search(r"https?://[^/\s]+(/ingresar/invitacion/\S+)", body).group(1)
    return base + path


def admin_signs_in(page: Any, base: str) -> None:
    """The demo admin signs in (and lands on the entities page)."""
    from playwright.sync_api import expect

    page.goto(f"{base}/ingresar")
    page.get_by_label("Usuario").fill("admin")
    page.get_by_label("Contraseña").fill("demo311")
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(f"{base}/admin/entidades")


def import_country(page: Any, csv_path: Path, good: str) -> None:
    """The signed-in admin imports ``good`` (a directory of 150 entities
    and 300 enlaces) from the import page: first with a bad address on
    line 8, which the dry run names and which offers no Aplicar; then the
    fixed file, whose counts are shown and which is applied. The page
    passes axe and fits 390 px."""
    from playwright.sync_api import expect

    csv_path.write_text(good.replace("buzon7@ent7.gob.pa", "buzon7 en ent7"))
    name = csv_path.name
    page.get_by_role("link", name="Importar").click()
    expect(page.get_by_role("heading", name="Importar el directorio")).to_be_visible()
    check_a11y(page, "admin-import")

    page.get_by_label("Archivo CSV").set_input_files(str(csv_path))
    page.get_by_role("button", name="Revisar el archivo").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "1 problema: no se importará nada"
    )
    row = page.locator("#tabla-problemas tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("8")
    expect(row).to_contain_text("correo")
    expect(row).to_contain_text("Escriba un correo electrónico válido.")
    expect(page.get_by_role("button", name=f"Aplicar {name}")).to_have_count(0)
    check_a11y(page, "admin-import-problems")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "admin-import-problems-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1200, "height": 900})

    csv_path.write_text(good)  # the admin fixes line 8 and uploads again
    page.get_by_label("Archivo CSV").set_input_files(str(csv_path))
    page.get_by_role("button", name="Revisar el archivo").click()
    review = page.locator("#revision")
    expect(review).to_contain_text("450 filas.")
    expect(review).to_contain_text("Entidades: 150 nuevas, 0 con cambios")
    expect(review).to_contain_text("Personas: 300 nuevas, 0 con cambios")
    check_a11y(page, "admin-import-clean")
    page.get_by_role("button", name=f"Aplicar {name}").click()
    expect(page.get_by_role("status").first).to_contain_text(
        "Entidades: 150 creadas, 0 actualizadas, 0 sin cambios."
        " Personas: 300 creadas, 0 actualizadas, 0 sin cambios."
    )
    shot(page, "admin-import-applied")


def accept_invitation_and_enrol(
    page: Any, base: str, link: str, username: str, name: str, password: str
) -> Any:
    """From the invitation ``link``: a too-common password is refused, a
    good one saved; the person signs in, enrols TOTP from the secret the
    page shows (a code the test computes), keeps the recovery codes, signs
    out and in again with the next code. Every page passes axe. Returns
    the TOTP (a ``pyotp.TOTP``)."""
    import time

    import pyotp
    from playwright.sync_api import expect

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenida al Centro 311"
    )
    check_a11y(page, "signin-invitation")
    page.get_by_label("Contraseña nueva", exact=True).fill("password1234")
    page.get_by_label("Repita la contraseña nueva").fill("password1234")
    page.get_by_role("button", name="Guardar la contraseña").click()
    expect(page.locator("#nueva-error")).to_contain_text("más usadas")
    check_a11y(page, "signin-invitation-error")
    page.get_by_label("Contraseña nueva", exact=True).fill(password)
    page.get_by_label("Repita la contraseña nueva").fill(password)
    page.get_by_role("button", name="Guardar la contraseña").click()
    expect(page).to_have_url(f"{base}/ingresar")
    expect(page.get_by_role("status").first).to_contain_text("Contraseña guardada")

    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña", exact=True).fill(password)
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(f"{base}/tareas")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mi cuenta")
    check_a11y(page, "signin-account")
    page.get_by_role("link", name="Activar la verificación en dos pasos").click()
    secret = page.locator("#clave-secreta").inner_text()
    expect(page.locator(".qr svg")).to_be_visible()
    check_a11y(page, "signin-enrol")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "signin-enrol-390")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1200, "height": 900})
    totp = pyotp.TOTP(secret)
    page.get_by_label("Código de la aplicación").fill(totp.now())
    page.get_by_role("button", name="Activar").click()
    expect(page).to_have_url(f"{base}/cuenta/codigos")
    expect(page.locator("#codigos-recuperacion li")).to_have_count(10)
    check_a11y(page, "signin-recovery-codes")
    page.get_by_role("link", name="Ya los guardé").click()
    page.get_by_role("button", name="Salir").click()

    page.goto(f"{base}/ingresar")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña", exact=True).fill(password)
    page.get_by_role("button", name="Ingresar").click()
    expect(page).to_have_url(f"{base}/ingresar/codigo")
    check_a11y(page, "signin-code")
    # The enrolment used the current step's code: a replay would be
    # refused, so sign in with the next step's (phones run a little ahead).
    page.get_by_label("Código").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verificar").click()
    expect(page).to_have_url(f"{base}/tareas")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    return totp


def deactivate_signed_in_supervisor(
    browser: Any, base: str, number: str, admin_page: Any | None = None
) -> None:
    """The supervisor, signed in in a browser of their own, sees case
    ``number`` (whose task they hold); the admin (``admin_page``, or a new
    browser) deactivates them on /admin/usuarios; the supervisor's next
    click lands on the login page; the audit log lists the deactivation and
    the released task. The admin pages pass axe."""
    from playwright.sync_api import expect

    from tests.e2e.test_queja_flow import login

    contexts = [
        browser.new_context(
            bypass_csp=True, viewport={"width": 1200, "height": 900}, locale="es-PA"
        )
        for _ in range(1 if admin_page else 2)
    ]
    try:
        sup_page = contexts[0].new_page()
        login(sup_page, base, "supervisor")
        expect(sup_page.get_by_role("row").filter(has_text=number)).to_be_visible()

        if admin_page is None:
            admin_page = contexts[1].new_page()
            admin_signs_in(admin_page, base)
            check_a11y(admin_page, "admin-entities")
        admin_page.goto(f"{base}/admin/entidades")
        admin_page.get_by_role("link", name="Personas").click()
        check_a11y(admin_page, "admin-people")
        row = admin_page.get_by_role("row").filter(has_text="Sergio Supervisor")
        expect(row).to_contain_text("1")  # the task they hold
        row.get_by_role("link", name="Sergio Supervisor").click()
        check_a11y(admin_page, "admin-person")
        admin_page.get_by_role("button", name="Desactivar a Sergio Supervisor").click()
        expect(admin_page.get_by_role("status").first).to_contain_text(
            "sus sesiones terminaron y 1 tarea volvió a su cola"
        )
        shot(admin_page, "admin-people-deactivated")

        sup_page.get_by_role("link", name="Buscar casos").click()
        expect(sup_page).to_have_url(f"{base}/ingresar?next=%2Fbuscar")
        expect(sup_page.get_by_role("link", name="Buscar casos")).to_have_count(0)

        admin_page.get_by_role("link", name="Auditoría").first.click()
        table = admin_page.locator("#auditoria")
        expect(table).to_contain_text("Persona desactivada")
        expect(table).to_contain_text("Tarea liberada")
        check_a11y(admin_page, "admin-audit")
        shot(admin_page, "admin-audit")
    finally:
        for c in contexts:
            c.close()


def supervisor_holds_a_case(p: Any, intake: dict[str, Any]) -> tuple[str, str]:
    """A web filing whose classification task the demo supervisor claims:
    (the case number, the task id)."""
    from sqlalchemy import select

    from engine import services
    from engine.services import accounts
    from engine.store.accounts import User
    from engine.store.models import HumanTask

    number = services.open_case(p, "queja", intake).number
    with p.db.read() as s:
        sup = accounts.actor_from_user(
            s.scalars(select(User).where(User.username == "supervisor")).one()
        )
        task_id = s.scalars(select(HumanTask.id)).one()
    services.claim_task(p, sup, task_id)
    return number, task_id
