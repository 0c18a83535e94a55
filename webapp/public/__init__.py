"""Public pages: case types, intake, confirmation, tracking, language.

"Mis casos" (citizens' sign-in by a mailed link) is in :mod:`webapp.public.citizen`.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, gettext

from engine import services
from engine.domain import geo
from engine.domain.enums import Channel
from engine.domain.errors import (
    N_,
    Conflict,
    InvalidData,
    NotFound,
    ProcessFailed,
    TooManyAttempts,
)
from engine.domain.views import (
    CASE_STATUSES,
    STAFF_CHANNELS,
    EntityView,
    OpenedCase,
    PublicCase,
)
from engine.domain.workspace import CallerLookup
from engine.services import citizen_accounts
from engine.services.accounts import list_entities
from engine.services.case_links import LinkNotValid
from engine.services.common import submitted_values
from webapp.config import map_tiles_origin
from webapp.helpers import (
    client_key,
    current_actor,
    download,
    field_errors,
    open_from_session,
    oversized,
    platform,
    raw_form,
    safe_next,
    seal_for_session,
    translate,
    uploads,
)

bp = Blueprint("public", __name__, template_folder="templates")

#: Hidden intake field holding the form's idempotency key (not case data).
IDEMPOTENCY_FIELD = "idempotencia"
#: Intake field where agents name the entity the caller knows (not case data).
ENTITY_FIELD = "entidad_indicada"
#: Query parameters of the caller lookup without JavaScript: what was typed,
#: and the caller whose data fills the form.
LOOKUP_PARAM, USE_PARAM = "llamante", "usar"
#: File inputs: attachments, and (reserved-identity forms) identifying ones.
FILES_FIELD = "adjuntos"
IDENTIFYING_FILES_FIELD = "adjuntos_identificantes"
#: South-west and north-east corners of the map pin's area (the engine's).
MAP_BOUNDS = (
    geo.PANAMA_MIN_LATITUDE,
    geo.PANAMA_MIN_LONGITUDE,
    geo.PANAMA_MAX_LATITUDE,
    geo.PANAMA_MAX_LONGITUDE,
)


@bp.get("/")
def home() -> Any:
    """The case types on offer, with links to file and to track."""
    return render_template(
        "public/home.html",
        case_types=services.list_case_types(platform(), language=_language()),
    )


def _language() -> str:
    """The language the citizen chose: the bundles' texts follow it."""
    return str(get_locale())


@bp.route("/casos/nuevo/<tipo>", methods=["GET", "POST"])
def intake(tipo: str) -> Any:
    """The intake form of a case type; agents also record the channel."""
    p = platform()
    actor = current_actor()
    is_agent = bool(actor and actor.has("agente_311", "supervisor_311"))
    # Staff file in Spanish (their pages are Spanish); citizens in theirs.
    view = services.get_intake(
        p, tipo, actor=actor, language=None if is_agent else _language()
    )
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    channel: str = Channel.PHONE if is_agent else Channel.WEB
    # Each rendered form carries its own key: submitting it twice (a double
    # click, a retry after a timeout) returns the first case, not a new one.
    idempotency_key = secrets.token_urlsafe(24)
    lookup: CallerLookup | None = None
    if is_agent and request.method == "GET" and request.args.get(LOOKUP_PARAM):
        lookup, values = _caller_lookup(tipo)
    elif (
        not is_agent
        and request.method == "GET"
        and (email := citizen.signed_in_email())
    ):
        # A citizen signed in to Mis casos finds their contact filled in:
        # the confirmed address, the name and phone of their latest case.
        values = citizen_accounts.contact_prefill(p, email, tipo)
    if request.method == "POST":
        raw = raw_form()
        posted_key = (raw.pop(IDEMPOTENCY_FIELD, None) or [""])[-1]
        entity_code = request.form.get(ENTITY_FIELD, "")
        # A re-rendered form keeps its key: it has filed nothing yet.
        idempotency_key = posted_key or idempotency_key
        channel = request.form.get("canal", Channel.WEB) if is_agent else Channel.WEB
        values = submitted_values(view.form.schema, raw)
        errors = oversized(raw)
        files = uploads(FILES_FIELD)
        if view.reservable:
            files += uploads(IDENTIFYING_FILES_FIELD, identifying=True)
        if not errors:
            try:
                opened = services.open_case(
                    p,
                    tipo,
                    values,
                    actor=actor,
                    channel=channel,
                    idempotency_key=posted_key or None,
                    # The citizen's own language, for the mail sent to them;
                    # staff filing for someone leave the default.
                    language=None if is_agent else _language(),
                    entity_code=entity_code,
                    files=files,
                    # The optional map pin (or typed coordinates): only on
                    # forms with an address field, checked by the engine.
                    latitude=request.form.get(geo.LATITUDE_FIELD)
                    if view.location_field
                    else None,
                    longitude=request.form.get(geo.LONGITUDE_FIELD)
                    if view.location_field
                    else None,
                )
            except InvalidData as exc:
                errors = field_errors(exc.errors)
                if not is_agent and ENTITY_FIELD in errors:
                    # Citizens have no such field: say it above the form.
                    errors[""] = errors.pop(ENTITY_FIELD)
            except ProcessFailed as exc:
                errors = {"": [translate(exc.message)]}
            else:
                _keep_receipt(opened, channel)
                return redirect(url_for("public.confirmation"), code=303)
        # Keep everything the citizen typed, even what failed validation.
        values = {k: (v if len(v) > 1 else v[0]) for k, v in raw.items() if v}
    status = 422 if errors else 200
    return (
        render_template(
            "public/intake.html",
            view=view,
            values=values,
            errors=errors,
            is_agent=is_agent,
            channel=channel,
            staff_channels=STAFF_CHANNELS,
            idempotency_key=idempotency_key,
            entities=_active_entities() if is_agent else [],
            case_statuses=CASE_STATUSES,
            lookup=lookup,
            map_tiles=map_tiles_origin(current_app.config["MAP_TILE_URL"])
            and current_app.config["MAP_TILE_URL"],
            map_bounds=MAP_BOUNDS,
        ),
        status,
    )


def _caller_lookup(tipo: str) -> tuple[CallerLookup, dict[str, Any]]:
    """The caller lookup of the intake page without JavaScript.

    With ``usar``, the chosen caller's data fills the new case's contact
    fields.
    """
    actor = current_actor()
    lookup = services.lookup_caller(
        platform(), actor, request.args.get(LOOKUP_PARAM, ""), tipo
    )
    chosen = request.args.get(USE_PARAM, "")
    values: dict[str, Any] = {}
    if chosen.isdigit() and len(chosen) < 4 and int(chosen) < len(lookup.callers):
        values = dict(lookup.callers[int(chosen)].fill)
    return lookup, values


def _active_entities() -> list[EntityView]:
    """The entities an agent may name at intake."""
    return [e for e in list_entities(platform()) if e.active]


def _keep_receipt(opened: OpenedCase, channel: str) -> None:
    """Put the receipt of a filing in the session, sealed, for the next page.

    The cookie is only signed, so the access code (and the citizen's email)
    go in encrypted. A repeated submit has no code; if the first submit's
    receipt is still here unseen (its response never reached the screen),
    its code is kept so the citizen still sees it once.
    """
    receipt = {
        "number": opened.number,
        "code": opened.access_code,
        "title": opened.title,
        "status": opened.public_status,
        "email": opened.email,
        "reserved": opened.identity_reserved,
        "channel": channel,
        "repeated": opened.repeated,
    }
    if opened.repeated:
        earlier = open_from_session(session.get("opened"))
        if earlier and earlier.get("number") == opened.number and earlier.get("code"):
            receipt["code"], receipt["email"] = earlier["code"], earlier.get("email")
    session["opened"] = seal_for_session(receipt)
    if channel == Channel.WEB:
        # The citizen who just filed may open the case from the receipt
        # without typing the code.
        grant_case(opened.number)


@bp.get("/casos/confirmacion")
def confirmation() -> Any:
    """The number of the case just filed, and its access code once.

    The code is removed from the session as it is shown: a reload shows the
    number and says the code was already shown (and mailed, if an address
    was given).
    """
    opened = open_from_session(session.get("opened"))
    if not opened:
        return redirect(url_for("public.home"))
    code = opened.get("code") or ""
    if code:
        session["opened"] = seal_for_session({**opened, "code": ""})
    return render_template("public/confirmation.html", opened=opened, code=code)


#: Session key of the cases this browser may see (their numbers, newest
#: last): granted by a right access code, a one-time link or the filing
#: itself. The code is never kept.
TRACKING = "tracking"
#: How many cases one session remembers.
MAX_TRACKED = 20


def _granted_numbers() -> list[str]:
    """The case numbers this session may see (the signed cookie's list)."""
    found = session.get(TRACKING)
    return [str(n) for n in found] if isinstance(found, list) else []


def grant_case(number: str) -> None:
    """Let this browser session see case ``number`` (newest last): the
    filing, a right code, a one-time link, or "Mis casos"."""
    kept = [n for n in _granted_numbers() if n != number]
    session[TRACKING] = (kept + [number])[-MAX_TRACKED:]


def _revoke(number: str) -> None:
    """Forget a case this session could see (it no longer exists)."""
    session[TRACKING] = [n for n in _granted_numbers() if n != number]


def _granted(number: str) -> bool:
    """Whether this session may see case ``number``."""
    return bool(number) and number.upper() in _granted_numbers()


@bp.route("/seguimiento", methods=["GET", "POST"])
def track() -> Any:
    """Look a case up by number and access code, or open one this session
    may already see (``?numero=``).

    A right code lets the session see the case: its number goes in the
    (signed, HttpOnly) session, never the code, so the citizen can answer
    the tasks shown there and come back without typing it again.
    """
    number = request.values.get("numero", "").strip()
    if request.method == "GET":
        if not _granted(number):
            return _track_page(number)
        try:
            case = services.tracked_case(platform(), number, language=_language())
        except NotFound:
            _revoke(number.upper())
            return _track_page(number)
        return _track_page(number, case=case)
    code = request.form.get("codigo", "")
    if not number or not code.strip():
        return _track_page(
            number,
            error=gettext("Escriba el número de caso y el código de acceso."),
            status=422,
        )
    try:
        case = services.track_case(
            platform(), number, code, client=client_key(), language=_language()
        )
    except NotFound as exc:
        return _track_page(number, error=translate(exc.message), status=404)
    except TooManyAttempts as exc:
        return _track_page(number, error=translate(exc.message), status=429)
    grant_case(case.number)
    return _track_page(number, case=case)


@bp.get("/seguimiento/enlace/<token>")
def tracking_link(token: str) -> Any:
    """Open a case from a one-time link (mail, receipt): the session may see
    it from now on. A used or expired link asks for the code, number filled."""
    try:
        opened = services.open_link(platform(), token, client=client_key())
    except LinkNotValid as exc:
        return _track_page(exc.number or "", error=translate(exc.message), status=410)
    except TooManyAttempts as exc:
        return _track_page("", error=translate(exc.message), status=429)
    grant_case(opened.number)
    return redirect(url_for("public.track", numero=opened.number), code=303)


def _track_page(
    number: str,
    *,
    case: PublicCase | None = None,
    error: str | None = None,
    status: int = 200,
    task_errors: dict[str, dict[str, list[str]]] | None = None,
    task_values: dict[str, dict[str, Any]] | None = None,
) -> Any:
    """Render the tracking page (form, or the case with its citizen tasks)."""
    return (
        render_template(
            "public/track.html",
            number=number,
            case=case,
            error=error,
            task_errors=task_errors or {},
            task_values=task_values or {},
        ),
        status,
    )


@bp.post("/seguimiento/tareas/<task_id>")
def citizen_task(task_id: str) -> Any:
    """The citizen answers a task shown on the tracking page."""
    number = request.form.get("numero", "").strip().upper()
    if not number and (numbers := _granted_numbers()):
        number = numbers[-1]
    if not _granted(number):
        return redirect(url_for("public.track", numero=number), code=303)
    p = platform()
    try:
        case = services.tracked_case(p, number, language=_language())
    except NotFound:
        _revoke(number)
        return redirect(url_for("public.track"), code=303)
    task = next((t for t in case.tasks if t.id == task_id), None)
    if task is None:
        flash(gettext("Esa tarea ya no está pendiente."), "info")
        return redirect(url_for("public.track", numero=number), code=303)
    raw = raw_form()
    raw.pop("numero", None)
    errors = oversized(raw)
    if not errors:
        data = submitted_values(task.form.schema, raw)
        try:
            services.complete_tracked_task(
                p, number, task_id, data, files=uploads(FILES_FIELD)
            )
        except InvalidData as exc:
            errors = field_errors(exc.errors)
        except (NotFound, Conflict):
            flash(gettext("Esa tarea ya no está pendiente."), "info")
            return redirect(url_for("public.track", numero=number), code=303)
        except ProcessFailed as exc:
            errors = {"": [translate(exc.message)]}
        else:
            flash(gettext("¡Gracias! Recibimos su respuesta."), "success")
            return redirect(url_for("public.track", numero=number), code=303)
    values = {k: (v if len(v) > 1 else v[0]) for k, v in raw.items() if v}
    return _track_page(
        number,
        case=case,
        status=422,
        task_errors={task_id: errors},
        task_values={task_id: values},
    )


@bp.get("/seguimiento/adjuntos/<attachment_id>")
def attachment(attachment_id: str) -> Any:
    """A file of a case this session may see (public, unsealed files only)."""
    numbers = _granted_numbers()
    if not numbers:
        return redirect(url_for("public.track"), code=303)
    p = platform()
    # Newest case first: the page the citizen is reading.
    for number in reversed(numbers):
        try:
            found = services.tracked_attachment(p, number, attachment_id)
        except NotFound:
            continue
        return download(found)
    raise NotFound(N_("El archivo no existe."))


@bp.post("/idioma/<lang>")
def language(lang: str) -> Any:
    """Switch the interface language (kept in the session)."""
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    target = safe_next(request.form.get("next")) or url_for("public.home")
    return redirect(target, code=303)


# Registered last: the Mis casos pages use this blueprint.
from webapp.public import citizen  # noqa: E402
