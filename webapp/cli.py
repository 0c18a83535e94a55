"""Operator commands under ``flask``: thin wrappers over engine services."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy.exc import DBAPIError

from engine import services
from engine.domain.directory import ImportCheck, ImportRefused
from engine.domain.errors import BundleInvalid, InvalidData, Message, ServiceError
from engine.services import (
    accounts,
    api_keys,
    design,
    directory,
    mail,
    open_data,
    people,
    schema,
    second_factor,
    signin,
    versions,
)
from webapp import require_secrets
from webapp.config import MissingSecret
from webapp.helpers import platform

log = logging.getLogger("centro311.worker")

#: Longest wait between two worker passes while they keep failing, in seconds.
MAX_BACKOFF_S = 60.0


def _text(message: Message) -> str:
    """A service message in Spanish (the command line is not translated);
    a message parameter is written out in turn."""
    if not message.params:
        return message.text
    params = {
        k: _text(v) if isinstance(v, Message) else v for k, v in message.params.items()
    }
    return message.text % params


def _print_invalid(exc: InvalidData) -> None:
    """Print every field message of refused data."""
    for field, msgs in exc.errors.items():
        for m in msgs:
            click.echo(f"{field}: {_text(m)}", err=True)


def _print_problems(exc: BundleInvalid) -> None:
    """Print every problem of a refused bundle."""
    for problem in exc.problems:
        where = problem.file + (f" [{problem.element}]" if problem.element else "")
        label = "ERROR" if problem.severity == "error" else "AVISO"
        click.echo(f"{label} {where}: {_text(problem.message)}", err=True)


def _print_check(check: ImportCheck) -> None:
    """A directory dry run: each problem on stderr, then the counts."""
    for x in check.problems:
        column = f", columna {x.column}" if x.column else ""
        click.echo(f"línea {x.line}{column}: {_text(x.message)}", err=True)
    e, p = check.entities, check.people
    click.echo(
        f"{check.rows} filas. Entidades: {e.created} nuevas, {e.updated} con"
        f" cambios, {e.unchanged} sin cambios. Personas: {p.created} nuevas,"
        f" {p.updated} con cambios, {p.unchanged} sin cambios."
    )
    if check.problems:
        click.echo(f"{len(check.problems)} problemas: no se importó nada.", err=True)


def _read_bundle(path: Path) -> dict[str, str]:
    """A bundle folder or .zip, with its forms and the shared tables it calls."""
    config = current_app.config
    return versions.read_bundle(path, config["BPMN_DIR"], config["FORMS_DIR"])


def _require_secrets() -> None:
    """Stop a serving or worker command, in one line, without its secrets.

    The ``flask`` command builds the app without checking them, so that
    commands needing no secret (validate, deploy, --help) run anywhere.
    """
    app_obj: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        require_secrets(app_obj)
    except MissingSecret as exc:
        raise click.ClickException(str(exc)) from None


#: A directory CSV argument: an existing file, read as a Path.
CSV_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)
#: A bundle argument: an existing folder or file (a .zip), read as a Path.
BUNDLE_PATH = click.Path(exists=True, path_type=Path)


def register_cli(app: Flask) -> None:
    """Attach the commands to the app."""

    @app.cli.command("db-upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Apply database migrations (default: to the newest)."""
        schema.upgrade(current_app.config["DATABASE_URL"], revision)
        click.echo("Base de datos actualizada.")

    @app.cli.command("db-downgrade")
    @click.argument("revision", default="-1")
    def db_downgrade(revision: str) -> None:
        """Revert database migrations (default: one step)."""
        schema.downgrade(current_app.config["DATABASE_URL"], revision)
        click.echo("Migración revertida.")

    @app.cli.command("deploy-seed")
    def deploy_seed() -> None:
        """Deploy bpmn/ + forms/ as version 1 of case types not yet deployed."""
        try:
            done = services.deploy_seed(
                platform(),
                Path(current_app.config["BPMN_DIR"]),
                Path(current_app.config["FORMS_DIR"]),
            )
        except BundleInvalid as exc:
            _print_problems(exc)
            raise SystemExit(1) from exc
        for v in done:
            click.echo(f"Desplegado {v.case_type} v{v.version}")
        if not done:
            click.echo("Las definiciones semilla ya estaban desplegadas.")

    @app.cli.command("validate")
    @click.argument("path", type=BUNDLE_PATH)
    def validate(path: Path) -> None:
        """Check a bundle folder or .zip and run its process tests; exit 1
        listing every problem (each failing scenario and step).

        Needs no database and no secret: nothing is stored (the scenarios
        run in throwaway databases).
        """
        try:
            files = _read_bundle(path)
            case_type, title, warnings = versions.check_bundle(files)
        except BundleInvalid as exc:
            _print_problems(exc)
            raise SystemExit(1) from exc
        if warnings:
            _print_problems(BundleInvalid(warnings))
        click.echo(f"Paquete válido: {case_type} ({title})")
        tests = versions.scenario_count(files)
        if tests:
            click.echo(f"Escenarios de prueba: los {tests} pasaron.")

    @app.cli.command("deploy")
    @click.argument("path", type=BUNDLE_PATH)
    @click.option("--note", default="", help="Nota de la versión")
    @click.option(
        "--by",
        "username",
        default=None,
        help="Usuario diseñador o administrador que despliega "
        "(por omisión, el primer administrador activo)",
    )
    @click.option(
        "--draft",
        is_flag=True,
        help="Guardar como borrador: ningún caso nuevo lo usa hasta publicarlo",
    )
    @click.option(
        "--confirm-new",
        "confirm_new",
        is_flag=True,
        help="Publicar enseguida un tipo de caso nuevo (título y formulario revisados)",
    )
    def deploy(
        path: Path, note: str, username: str | None, draft: bool, confirm_new: bool
    ) -> None:
        """Validate and deploy a bundle folder or .zip as a new version.

        The same audited deploy as the designer's pages, as the user --by.
        With --draft it is a draft (no new case uses it until published in
        the designer's pages); a new case type stays a draft too unless
        --confirm-new says its title and intake form were checked.
        """
        p = platform()
        try:
            actor = versions.deployer(p, username)
            files = _read_bundle(path)
            done = design.deploy(
                p,
                actor,
                files,
                note,
                source="cli",
                draft=draft,
                confirm_new=confirm_new,
            )
        except BundleInvalid as exc:
            _print_problems(exc)
            raise SystemExit(1) from exc
        except ServiceError as exc:
            raise click.ClickException(_text(exc.message)) from None
        if done.warnings:
            _print_problems(BundleInvalid(done.warnings))
        info = done.version
        click.echo(f"Desplegado {info.case_type} v{info.version} por {actor.username}")
        if done.needs_confirmation:
            click.echo(
                f"«{info.title}» es un tipo de caso nuevo: quedó como borrador. "
                "Revise su título y su formulario de entrada y publíquelo en "
                "/diseno, o despliegue con --confirm-new."
            )
        elif info.is_draft:
            click.echo("Es un borrador: publíquelo en /diseno cuando esté probado.")

    @app.cli.command("import-directory")
    @click.argument("path", type=CSV_PATH)
    @click.option(
        "--aplicar",
        "apply",
        is_flag=True,
        help="Guardar el archivo si no tiene problemas (sin esto, solo se revisa)",
    )
    @click.option(
        "--by",
        "username",
        default=None,
        help="Administrador que importa (por omisión, el primer administrador activo)",
    )
    def import_directory(path: Path, apply: bool, username: str | None) -> None:
        """Check a CSV of entities and people; --aplicar writes it, all or none.

        Every problem is listed (line, column, sentence) and the exit status
        is 1; nothing is written then. The same checks and audit as
        /admin/importar.
        """
        p = platform()
        try:
            actor = directory.importer(p, username)
            with path.open("rb") as stream:
                found = directory.read_file(p, stream, path.name)
            check = directory.check_directory(p, actor, found)
            _print_check(check)
            if check.problems:
                raise SystemExit(1)
            if not apply:
                click.echo("Revisión sin problemas: aplíquelo con --aplicar.")
                return
            done = directory.apply_directory(p, actor, found, source="cli")
        except ImportRefused as exc:
            _print_check(exc.check)
            raise SystemExit(1) from exc
        except ServiceError as exc:
            raise click.ClickException(_text(exc.message)) from None
        click.echo(
            f"Importado por {actor.username}: {len(done.created_users)} personas"
            " nuevas (invitación pendiente)."
        )

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Create demo entities and one user per role (idempotent)."""
        password = current_app.config["DEMO_PASSWORD"]
        accounts.seed_demo(platform(), password)
        click.echo(f"Usuarios de demostración (contraseña: {password}):")
        for username, (name, roles, entities) in accounts.DEMO_USERS.items():
            extra = f" · {', '.join(entities)}" if entities else ""
            click.echo(f"  {username:<14} {', '.join(roles)}{extra} — {name}")

    @app.cli.command("create-user")
    @click.argument("username")
    @click.option("--name", "full_name", required=True)
    @click.option("--role", "roles", multiple=True, required=True)
    @click.option(
        "--entity",
        "entities",
        multiple=True,
        help="Entidad de un enlace; repetida o separada por comas si son varias",
    )
    @click.option("--email", default=None)
    @click.option("--password", default=None, help="Contraseña (si no, se pide)")
    @click.option(
        "--invite",
        is_flag=True,
        help="Sin contraseña: enviar por correo una invitación para elegirla",
    )
    def create_user(
        username: str,
        full_name: str,
        roles: tuple[str, ...],
        entities: tuple[str, ...],
        email: str | None,
        password: str | None,
        invite: bool,
    ) -> None:
        """Create a staff user (the password follows the policy)."""
        p = platform()
        if not invite and password is None:
            password = click.prompt(
                "Password", hide_input=True, confirmation_prompt=True
            )
        accounts.ensure_roles(p)
        try:
            created = accounts.create_user(
                p,
                username,
                full_name,
                None if invite else password,
                roles,
                entity_codes=people.split_entities(";".join(entities)),
                email=email,
            )
            if invite:
                sent = signin.invite_user(p, signin.administrator(p), created.id)
        except InvalidData as exc:
            _print_invalid(exc)
            raise SystemExit(1) from exc
        except ServiceError as exc:
            raise click.ClickException(_text(exc.message)) from None
        click.echo(f"Usuario {username} creado.")
        if invite:
            click.echo(f"Invitación enviada a {sent.email}.")

    @app.cli.command("invite")
    @click.argument("username")
    @click.option("--by", "admin", default=None, help="Administrador que invita")
    def invite(username: str, admin: str | None) -> None:
        """Mail a user a single-use link to choose their password (audited)."""
        p = platform()
        try:
            sent = signin.invite_user(
                p, signin.administrator(p, admin), signin.user_id_of(p, username)
            )
        except InvalidData as exc:
            _print_invalid(exc)
            raise SystemExit(1) from exc
        except ServiceError as exc:
            raise click.ClickException(_text(exc.message)) from None
        click.echo(
            f"Invitación enviada a {sent.email} "
            f"(vence {sent.expires_at:%Y-%m-%d %H:%M} UTC)."
        )

    @app.cli.command("reset-2fa")
    @click.argument("username")
    @click.option("--by", "admin", default=None, help="Administrador que lo hace")
    def reset_2fa(username: str, admin: str | None) -> None:
        """Remove a user's second factor (lost phone); audited, sessions end."""
        p = platform()
        try:
            second_factor.reset_second_factor(
                p, signin.administrator(p, admin), signin.user_id_of(p, username)
            )
        except ServiceError as exc:
            raise click.ClickException(_text(exc.message)) from None
        click.echo(f"Verificación en dos pasos de {username} restablecida.")

    @app.cli.group("open311")
    def open311() -> None:
        """Open311: keys of the outside systems that file cases."""

    @open311.command("create-key")
    @click.argument("name")
    @click.option("--by", "admin", default=None, help="Administrador que la crea")
    def create_key(name: str, admin: str | None) -> None:
        """Create an API key for system NAME; the key is printed this once."""
        p = platform()
        try:
            created = api_keys.create_key(p, signin.administrator(p, admin), name)
        except InvalidData as exc:
            _print_invalid(exc)
            raise SystemExit(1) from exc
        except ServiceError as exc:
            raise click.ClickException(_text(exc.message)) from None
        click.echo(f"Clave de «{created.view.name}» (no se volverá a mostrar):")
        click.echo(created.key)

    @open311.command("revoke-key")
    @click.argument("name")
    @click.option("--by", "admin", default=None, help="Administrador que la revoca")
    def revoke_key(name: str, admin: str | None) -> None:
        """Revoke the API key of system NAME at once."""
        p = platform()
        try:
            actor = signin.administrator(p, admin)
            found = [k for k in api_keys.list_keys(p, actor) if k.name == name]
            if not found:
                raise click.ClickException(f"No hay una clave llamada «{name}».")
            api_keys.revoke_key(p, actor, found[0].id)
        except ServiceError as exc:
            raise click.ClickException(_text(exc.message)) from None
        click.echo(f"Clave de «{name}» revocada.")

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Una pasada y salir")
    def worker(once: bool) -> None:
        """Fire due timers and send queued mail, in a loop that never dies."""
        _require_secrets()
        app_obj: Any = current_app._get_current_object()  # type: ignore[attr-defined]

        def report(fired: int, sent: int) -> None:
            """Say what a pass did, when it did something."""
            if fired or sent:
                click.echo(
                    f"{fired} temporizadores disparados, {sent} correos enviados"
                )

        stats = run_worker(app_obj, once=once, on_pass=report)
        if once and stats.failures:
            # A single pass (cron, scripts) reports its failure by exit status.
            raise SystemExit(1)

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    def serve(host: str, port: int) -> None:
        """Development server with the background worker in-process."""
        from werkzeug.serving import run_simple

        _require_secrets()

        app_obj: Any = current_app._get_current_object()  # type: ignore[attr-defined]
        start_worker_thread(app_obj)
        run_simple(host, port, app_obj, threaded=True, use_reloader=False)


def mail_settings(app: Flask) -> mail.MailSettings:
    """SMTP settings from the app configuration."""
    c = app.config
    return mail.MailSettings(
        host=c["MAIL_SERVER"],
        port=int(c["MAIL_PORT"]),
        sender=c["MAIL_SENDER"],
        username=c["MAIL_USERNAME"],
        password=c["MAIL_PASSWORD"],
        starttls=bool(c["MAIL_STARTTLS"]),
    )


def worker_pass(app: Flask) -> tuple[int, int]:
    """One pass of background work: due timers, queued mail, and once a day
    the open-data files.

    Mail does not wait on timers: if firing timers fails, the outbox is still
    sent, and then the timers' error is raised for the loop to log and back
    off. A database error skips the mail too, since it needs the same
    database. A failed open-data build is logged and tried again next pass.
    """
    p = app.extensions["centro311"]
    fired = sent = 0
    failure: Exception | None = None
    try:
        fired = services.fire_due_timers(p)
    except DBAPIError:
        raise
    except Exception as exc:  # noqa: BLE001 - re-raised after the mail is sent
        failure = exc
    try:
        sent = mail.send_pending(p, mail_settings(app))
    except Exception:
        if failure is None:
            raise
        log.exception("mail delivery failed as well")
    try:
        published = open_data.publish_due(p)
    except DBAPIError:
        raise
    except Exception:  # noqa: BLE001 - the day's files wait for the next pass
        log.exception("publishing the open-data files failed")
    else:
        if published is not None:
            log.info("open data published: %s cases", published)
    if failure is not None:
        raise failure
    return fired, sent


@dataclass
class WorkerStats:
    """What a run of the worker loop did."""

    passes: int = 0
    failures: int = 0
    fired: int = 0
    sent: int = 0


def _never() -> bool:
    """A stop condition that never holds."""
    return False


def run_worker(
    app: Flask,
    *,
    once: bool = False,
    should_stop: Callable[[], bool] = _never,
    sleep: Callable[[float], object] = time.sleep,
    on_pass: Callable[[int, int], object] | None = None,
) -> WorkerStats:
    """Run worker passes until ``should_stop()`` (or one pass with ``once``).

    The loop never dies of a failing pass: any exception is logged and the
    next pass waits twice as long as the last (from ``WORKER_INTERVAL_S`` up
    to ``MAX_BACKOFF_S``), back to the normal interval after a good pass. A
    database error is waited out the same way; the pool is dropped so the
    next pass reconnects from scratch once the database answers again.
    KeyboardInterrupt and SystemExit end the loop cleanly. ``sleep`` and
    ``should_stop`` let tests run passes without waiting.
    """
    p = app.extensions["centro311"]
    interval = float(app.config["WORKER_INTERVAL_S"])
    cap = max(MAX_BACKOFF_S, interval)
    stats = WorkerStats()
    failed_in_a_row = 0
    try:
        while not should_stop():
            stats.passes += 1
            try:
                fired, sent = worker_pass(app)
            except DBAPIError as exc:
                failed_in_a_row += 1
                stats.failures += 1
                # The driver's own message only: the full text would carry the
                # statement's parameters (citizens' contact data).
                reason = str(exc.orig).strip().splitlines()[:1]
                log.warning(
                    "worker pass failed: database error %s: %s (retry %d)",
                    exc.__class__.__name__,
                    reason[0] if reason else "",
                    failed_in_a_row,
                )
                _drop_connections(p)
            except Exception:
                failed_in_a_row += 1
                stats.failures += 1
                log.exception("worker pass failed (retry %d)", failed_in_a_row)
            else:
                failed_in_a_row = 0
                stats.fired += fired
                stats.sent += sent
                if on_pass is not None:
                    on_pass(fired, sent)
            if once:
                break
            wait = min(interval * (1 << min(failed_in_a_row, 16)), cap)
            sleep(wait)
    except (KeyboardInterrupt, SystemExit):
        log.info("worker stopped")
    return stats


def _drop_connections(p: Any) -> None:
    """Close pooled connections after a database error, so none is reused.

    An in-memory SQLite database lives in its one connection: never dropped.
    """
    if p.db.url in ("sqlite://", "sqlite:///:memory:"):
        return
    try:
        p.db.dispose()
    except Exception:  # noqa: BLE001 - a broken pool must not stop the loop
        log.exception("could not reset the database pool")


def start_worker_thread(
    app: Flask, *, stop: threading.Event | None = None
) -> threading.Thread:
    """Run the worker loop (``run_worker``) in a daemon thread of this process.

    Setting ``stop`` ends the loop at its next wait.
    """
    event = stop or threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(app,),
        kwargs={"should_stop": event.is_set, "sleep": event.wait},
        name="centro311-worker",
        daemon=True,
    )
    thread.start()
    return thread
