"""Centro 311 web application: the Flask app factory."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g, jsonify, render_template, request, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from engine import services
from engine.domain.sealing import new_key
from engine.services import accounts
from engine.services.platform import Limits, Platform
from engine.workflow.script_bounds import ScriptBounds
from webapp.config import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, error pages, CLI."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("C311")
    if test_config is not None:
        app.config.from_mapping(test_config)
    _finish_config(app)

    platform = Platform(
        app.config["DATABASE_URL"],
        limits=Limits(
            tracking_attempts=app.config["TRACKING_MAX_ATTEMPTS"],
            tracking_window_s=app.config["TRACKING_WINDOW_S"],
            tracking_client_attempts=app.config["TRACKING_CLIENT_MAX_ATTEMPTS"],
            login_attempts=app.config["LOGIN_MAX_ATTEMPTS"],
            login_window_s=app.config["LOGIN_WINDOW_S"],
        ),
        bounds=ScriptBounds(
            time_s=float(app.config["SCRIPT_TIME_S"]),
            memory_mib=int(app.config["SCRIPT_MEMORY_MIB"]),
            step_time_s=float(app.config["STEP_TIME_S"]),
        ),
        identity_key=app.config["IDENTITY_KEY"],
        public_url=app.config["PUBLIC_URL"],
        **({"clock": app.config["CLOCK"]} if app.config.get("CLOCK") else {}),
    )
    app.extensions["centro311"] = platform

    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)  # type: ignore[method-assign]

    # Registered before CSRFProtect so that garbage is refused before any
    # extension or view reads the request.
    app.before_request(_refuse_control_characters)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    from webapp import admin, auth, board, cases, designer, filters, public, tasks
    from webapp.cli import register_cli

    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(cases.bp)
    app.register_blueprint(board.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(designer.bp)
    filters.register(app)
    register_cli(app)
    _register_errors(app)

    @app.get("/healthz")
    def healthz() -> Any:
        """200 with the database reachable, 503 otherwise."""
        if services.health(platform):
            return jsonify(db="ok")
        return jsonify(db="error"), 503

    @app.after_request
    def security_headers(response: Any) -> Any:
        """Headers every response carries."""
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            "script-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        if app.config["ENV"] == "production":
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        if request.endpoint and not request.endpoint.startswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    if app.config["WORKER_IN_PROCESS"]:
        from webapp.cli import start_worker_thread

        start_worker_thread(app)
    return app


def _finish_config(app: Flask) -> None:
    """Fill derived defaults and refuse unsafe production settings."""
    env = app.config["ENV"]
    if not app.config["DATABASE_URL"]:
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        db_file = Path(app.instance_path) / "centro311.db"
        app.config["DATABASE_URL"] = f"sqlite:///{db_file}"
    app.config.setdefault("BPMN_DIR", None)
    app.config["BPMN_DIR"] = app.config["BPMN_DIR"] or str(ROOT / "bpmn")
    app.config["FORMS_DIR"] = app.config["FORMS_DIR"] or str(ROOT / "forms")
    if not app.config["SECRET_KEY"]:
        if env == "production":
            raise RuntimeError(
                "SECRET_KEY is not set: define C311_SECRET_KEY (or SECRET_KEY in "
                "instance/config.py) before starting in production."
            )
        app.config["SECRET_KEY"] = _development_secret(Path(app.instance_path))
    if not app.config["IDENTITY_KEY"]:
        if env == "production":
            raise RuntimeError(
                "IDENTITY_KEY is not set: define C311_IDENTITY_KEY (a Fernet key) "
                "so reserved identities can be sealed."
            )
        app.config["IDENTITY_KEY"] = _development_secret(
            Path(app.instance_path), "identity_key", new_key
        )
    if env in ("development", "testing"):
        app.config["SESSION_COOKIE_SECURE"] = bool(
            os.environ.get("C311_SESSION_COOKIE_SECURE")
        )
        app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["TESTING"] = app.config.get("TESTING", False) or env == "testing"


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
    from flask import current_app

    from webapp.auth import StaffUser, parse_session_id

    parsed = parse_session_id(session_id)
    if parsed is None:
        return None
    actor = accounts.load_actor(current_app.extensions["centro311"], *parsed)
    return StaffUser(actor) if actor else None
