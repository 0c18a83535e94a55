"""Centro 311 web application: the Flask app factory."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask, g, jsonify, render_template, request, session
from flask.cli import ScriptInfo
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import services
from engine.domain.passwords import PasswordPolicy
from engine.domain.sealing import new_key
from engine.services import accounts
from engine.services.platform import Limits, Platform, ScriptBounds, SignInSettings
from webapp.config import (
    DEFAULTS,
    PRODUCTION_TOTP_ROLES,
    MissingSecret,
    map_tiles_origin,
    missing_secret,
    phone_hours,
)
from webapp.helpers import allow_uploads

ROOT = Path(__file__).resolve().parent.parent

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def create_app(
    test_config: Mapping[str, Any] | None = None, *, check_secrets: bool | None = None
) -> Flask:
    """Build the app: config, extensions, blueprints, error pages, CLI.

    In production the app needs its secrets (:func:`require_secrets`).
    ``check_secrets=True`` raises :class:`MissingSecret` without them. Left
    None outside the ``flask`` command, the caller is a web server
    (``gunicorn 'webapp:create_app()'``): it gets no app but the one-line
    refusal on stderr and :data:`SERVER_REFUSAL_STATUS`, without a traceback
    (:func:`refuse_to_serve`). The ``flask`` command builds the app for every
    command, ``--help`` included, so there (``check_secrets`` None and a
    ``flask`` command running) the check waits for the commands that serve
    requests or start workers; the others (``validate``, ``deploy``…) need no
    secret.
    """
    from_command_line = _loaded_by_flask_command()
    served = check_secrets is None and not from_command_line
    app = _configured_app(test_config)
    if served:
        refuse_to_serve(app.config)
    elif check_secrets:
        require_secrets(app)
    else:
        # Only a command that checks before it starts (serve, worker) may run
        # this app; any other server it is handed to (`flask run`) answers 503.
        app.before_request(_refuse_without_secrets)

    platform = Platform(
        app.config["DATABASE_URL"],
        limits=Limits(
            tracking_attempts=app.config["TRACKING_MAX_ATTEMPTS"],
            tracking_window_s=app.config["TRACKING_WINDOW_S"],
            tracking_client_attempts=app.config["TRACKING_CLIENT_MAX_ATTEMPTS"],
            login_attempts=app.config["LOGIN_MAX_ATTEMPTS"],
            login_window_s=app.config["LOGIN_WINDOW_S"],
            attachment_max_bytes=int(app.config["ATTACHMENT_MAX_BYTES"]),
            attachment_case_bytes=int(app.config["ATTACHMENT_CASE_BYTES"]),
            attachment_files=int(app.config["ATTACHMENT_FILES"]),
            intake_files=int(app.config["ATTACHMENT_INTAKE_FILES"]),
            attachment_max_pixels=int(app.config["ATTACHMENT_MAX_PIXELS"]),
            duplicate_window_days=int(app.config["DUPLICATE_WINDOW_DAYS"]),
            import_max_rows=int(app.config["IMPORT_MAX_ROWS"]),
            import_max_bytes=int(app.config["IMPORT_MAX_BYTES"]),
            open311_requests=int(app.config["OPEN311_MAX_REQUESTS"]),
            open311_window_s=int(app.config["OPEN311_WINDOW_S"]),
        ),
        bounds=ScriptBounds(
            time_s=float(app.config["SCRIPT_TIME_S"]),
            memory_mib=int(app.config["SCRIPT_MEMORY_MIB"]),
            step_time_s=float(app.config["STEP_TIME_S"]),
        ),
        identity_key=app.config["IDENTITY_KEY"],
        public_url=app.config["PUBLIC_URL"],
        language=str(app.config["BABEL_DEFAULT_LOCALE"]),
        phone_hours=phone_hours(app.config),
        file_store=str(app.config["ATTACHMENT_STORE"]),
        signin=signin_settings(app.config),
        **({"clock": app.config["CLOCK"]} if app.config.get("CLOCK") else {}),
    )
    app.extensions["centro311"] = platform

    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]

    # Registered before CSRFProtect so that garbage is refused before any
    # extension or view reads the request; the size limit of forms with
    # files is set before anything reads them.
    app.before_request(allow_uploads)
    app.before_request(_refuse_control_characters)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    from webapp import (
        admin,
        auth,
        board,
        cases,
        designer,
        filters,
        knowledge,
        open311,
        opendata,
        public,
        search,
        tasks,
    )
    from webapp.cli import register_cli

    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(knowledge.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(designer.bp)
    # Outside systems post without a session: the API key is their proof.
    csrf.exempt(open311.bp)
    app.register_blueprint(open311.bp)
    app.register_blueprint(opendata.bp)
    filters.register(app)
    register_cli(app)
    _register_errors(app)

    @app.get("/healthz")
    def healthz() -> Any:
        """200 with the database reachable, 503 otherwise."""
        if services.health(platform):
            return jsonify(db="ok")
        return jsonify(db="error"), 503

    # Map tiles are images the browser loads from the tile server, and
    # nothing else of it: its origin joins img-src only.
    tiles = map_tiles_origin(str(app.config["MAP_TILE_URL"]))
    policy = (
        f"default-src 'self'; img-src 'self' data:{' ' + tiles if tiles else ''}; "
        "style-src 'self'; script-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )

    @app.after_request
    def security_headers(response: Any) -> Any:
        """Headers every response carries."""
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", policy)
        if app.config["ENV"] == "production":
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if request.endpoint and not request.endpoint.startswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # Not for the command line: `flask serve` starts its own worker thread
    # (after its secret check) and no other command wants one.
    if app.config["WORKER_IN_PROCESS"] and not from_command_line:
        from webapp.cli import start_worker_thread

        start_worker_thread(app)
    return app


def signin_settings(config: Mapping[str, Any]) -> SignInSettings:
    """The sign-in settings of a configuration (README "Sign-in")."""
    return SignInSettings(
        password_policy=PasswordPolicy(
            min_length=int(config["PASSWORD_MIN_LENGTH"]),
            max_length=int(config["PASSWORD_MAX_LENGTH"]),
        ),
        invite_ttl_s=int(config["INVITE_TTL_S"]),
        reset_ttl_s=int(config["RESET_TTL_S"]),
        reset_requests=int(config["RESET_MAX_REQUESTS"]),
        reset_window_s=int(config["RESET_WINDOW_S"]),
        citizen_link_ttl_s=int(config["CITIZEN_LINK_TTL_S"]),
        citizen_client_requests=int(config["CITIZEN_CLIENT_MAX_REQUESTS"]),
        citizen_address_requests=int(config["CITIZEN_ADDRESS_MAX_REQUESTS"]),
        citizen_window_s=int(config["CITIZEN_WINDOW_S"]),
        totp_required_roles=frozenset(config["TOTP_REQUIRED_ROLES"]),
        totp_issuer=str(config["TOTP_ISSUER"]),
    )


def _configured_app(test_config: Mapping[str, Any] | None) -> Flask:
    """A bare app holding its configuration, in the documented order.

    Defaults, then ``instance/config.py``, then ``C311_*`` variables, then
    ``test_config``; derived defaults last (:func:`_finish_config`).
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("C311")
    if test_config is not None:
        app.config.from_mapping(test_config)
    _finish_config(app)
    return app


def _loaded_by_flask_command() -> bool:
    """Whether the ``flask`` command line is building the app right now."""
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.find_object(ScriptInfo) is not None


def require_secrets(app: Flask) -> None:
    """Raise :class:`MissingSecret` (one line) if the app may not serve or work.

    In production both ``SECRET_KEY`` and ``IDENTITY_KEY`` must be set.
    """
    problem = missing_secret(app.config)
    if problem:
        raise MissingSecret(problem)


#: Exit status of a web server's process refused for lack of secrets: the
#: status gunicorn gives "App failed to load" (``Arbiter.APP_LOAD_ERROR``).
#: A gunicorn worker exiting with it stops the master at once; with any other
#: status the master would boot replacement workers, each refused again.
SERVER_REFUSAL_STATUS = 4


def refuse_to_serve(config: Mapping[str, Any] | None = None) -> None:
    """End the process, in one line, if a web server may not serve the app.

    ``config`` is the app's configuration; without it, the one
    :func:`create_app` builds for a server is read (for the gunicorn master,
    ``gunicorn.conf.py``, before any worker boots). The reason goes to stderr
    as the ``flask`` commands say it (``Error: Falta SECRET_KEY: …``) and the
    process exits with :data:`SERVER_REFUSAL_STATUS` through
    :class:`SystemExit`, which gunicorn lets through without a traceback: in
    its master (the hook, ``--preload``) and in a worker booting the app.
    """
    if config is None:
        config = _configured_app(None).config
    problem = missing_secret(config)
    if problem:
        print(f"Error: {problem}", file=sys.stderr, flush=True)
        raise SystemExit(SERVER_REFUSAL_STATUS)


def _refuse_without_secrets() -> Any:
    """503 for every request while the app lacks its production secrets."""
    from flask import current_app

    problem = missing_secret(current_app.config)
    return (problem, 503) if problem else None


def _finish_config(app: Flask) -> None:
    """Fill derived defaults; development and testing make their own secrets.

    Production secrets are never made up: :func:`require_secrets` checks them.
    """
    env = app.config["ENV"]
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        db_file = Path(app.instance_path) / "centro311.db"
        app.config["DATABASE_URL"] = f"sqlite:///{db_file}"
    app.config.setdefault("BPMN_DIR", None)
    app.config["BPMN_DIR"] = app.config["BPMN_DIR"] or str(ROOT / "bpmn")
    app.config["FORMS_DIR"] = app.config["FORMS_DIR"] or str(ROOT / "forms")
    if not app.config["SECRET_KEY"] and env != "production":
        app.config["SECRET_KEY"] = _development_secret(Path(app.instance_path))
    if not app.config["IDENTITY_KEY"] and env != "production":
        app.config["IDENTITY_KEY"] = _development_secret(
            Path(app.instance_path), "identity_key", new_key
        )
    if env in ("development", "testing"):
        app.config["SESSION_COOKIE_SECURE"] = bool(
            os.environ.get("C311_SESSION_COOKIE_SECURE")
        )
        app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["TESTING"] = app.config.get("TESTING", False) or env == "testing"
    if app.config["TOTP_REQUIRED_ROLES"] is None:
        # The demo and the tests sign in with a password only; a deployment
        # (production) requires a second factor of the powerful roles.
        roles = PRODUCTION_TOTP_ROLES if env == "production" else []
        app.config["TOTP_REQUIRED_ROLES"] = list(roles)


def _development_secret(
    instance: Path,
    name: str = "secret_key",
    make: Any = lambda: secrets.token_hex(32),
) -> str:
    """A random key kept under instance/ so development data survives restarts."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / name
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def _select_locale() -> str:
    """Spanish unless the user chose another offered language."""
    from flask import current_app

    lang = session.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        return str(lang)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def _register_errors(app: Flask) -> None:
    """Friendly error pages in the user's language."""

    def page(code: int, template: str = "error.html") -> Any:
        def handler(err: Any) -> Any:
            g.error_detail = getattr(err, "description", None)
            return render_template(template, code=code), code

        return handler

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(code, page(code))

    def database_down(err: Exception) -> Any:
        """The database is unreachable: a 503 page that needs no database.

        Logged-in users are shown the page as if anonymous (loading them
        needs the database), and clients are told when to retry.
        """
        app.logger.warning("database unavailable: %s", type(err).__name__)
        g.database_down = True
        # Flask-Login's template context loads the user (a query): serve
        # this page as to an anonymous visitor instead.
        g._login_user = login_manager.anonymous_user()
        page = render_template("error.html", code=503)
        return page, 503, {"Retry-After": "30"}

    app.register_error_handler(OperationalError, database_down)
    app.register_error_handler(InterfaceError, database_down)

    from engine.domain import errors
    from webapp.helpers import translate

    def engine_error(code: int) -> Any:
        """A handler showing the error page with ``code``."""

        def handler(err: errors.ServiceError) -> Any:
            """The engine's refusal as an error page, with its sentence."""
            detail = translate(err.message)
            return render_template("error.html", code=code, detail=detail), code

        return handler

    # One map from the engine's errors to responses, so views call services
    # without a try/except each. Views that re-render a form with the
    # messages (invalid data, a failed diagram, a lost race) still catch
    # those themselves: that is form behaviour, not error mapping.
    app.register_error_handler(errors.NotFound, engine_error(404))
    app.register_error_handler(errors.NotAllowed, engine_error(403))
    app.register_error_handler(errors.Conflict, engine_error(409))
    app.register_error_handler(errors.TooManyAttempts, engine_error(429))

    def process_failed(err: errors.ProcessFailed) -> Any:
        """The diagram failed and nothing was stored: say so, plainly."""
        app.logger.warning("process failed: %s", err)
        detail = translate(err.message)
        page = render_template(
            "error.html", code=500, detail=detail, process_failed=True
        )
        return page, 500

    def invalid_data(err: errors.InvalidData) -> Any:
        """Invalid data sent where no form can show it: list the messages."""
        problems = [
            f"{name}: {translate(m)}" if name else translate(m)
            for name, messages in err.errors.items()
            for m in messages
        ]
        # The heading already says what err.message says: list the fields.
        return render_template("error.html", code=422, problems=problems), 422

    app.register_error_handler(errors.ProcessFailed, process_failed)
    app.register_error_handler(errors.InvalidData, invalid_data)

    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError) -> Any:
        """An expired or missing CSRF token: ask to retry, keep nothing secret."""
        return render_template("error.html", code=400, csrf=True), 400


def _refuse_control_characters() -> Any:
    """400 with a clear page for control characters anywhere in the request.

    NUL bytes make PostgreSQL refuse the statement (a 500 deep in a view), and
    no C0 control character but tab, CR and LF belongs in a path, a query or a
    form: refusing them in one place protects every view.
    """
    from webapp.helpers import request_has_control_characters

    if request_has_control_characters():
        return render_template("error.html", code=400, bad_characters=True), 400
    return None


@login_manager.user_loader
def _load_user(session_id: str) -> Any:
    """Flask-Login hook: the session's user, or None.

    The id is "<user id>:<session epoch>"; a session from an older epoch
    (before a logout or a password change), or from before epochs existed,
    loads nobody.
    """
    from dataclasses import replace

    from flask import current_app

    from webapp.auth import StaffUser, parse_session_id
    from webapp.helpers import client_key

    parsed = parse_session_id(session_id)
    if parsed is None:
        return None
    actor = accounts.load_actor(current_app.extensions["centro311"], *parsed)
    # Where the request comes from goes with the actor, into the audit log.
    return StaffUser(replace(actor, client=client_key())) if actor else None
