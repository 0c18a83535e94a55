"""The operator commands the README shows, run as the README writes them.

Two ways in, both without the test app: the ``flask`` command line itself
(Flask's ``cli`` group with ``--app webapp``, under click's runner, with a
production environment of its own), and fresh processes in an empty folder
linked to the code, with no environment at all, as on a fresh clone.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.cli import ScriptInfo
from flask.cli import cli as flask_cli
from sqlalchemy import create_engine, select, text

from engine.domain.sealing import new_key
from engine.store.accounts import AuditLog, User
from tests.conftest import ON_POSTGRES, postgres_url

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"
SCHEMA = "readme_cli"


def readme_commands() -> list[list[str]]:
    """Every ``flask --app webapp …`` line of the README's shell blocks, as args."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            if "flask --app webapp" not in line:
                continue
            for part in line.split("#")[0].split("&&"):
                words = shlex.split(part)
                if words[:3] == ["flask", "--app", "webapp"]:
                    commands.append(words[3:])
    return commands


def readme_environment() -> dict[str, str]:
    """The variables the README's production shape exports (name -> value)."""
    found = re.search(r"^export (.*?[^\\])$", README, re.S | re.M)
    assert found, "the README exports no production environment"
    pairs = shlex.split(found.group(1).replace("\\\n", " "))
    return dict(pair.split("=", 1) for pair in pairs)


def operator_commands() -> list[str]:
    """The command names of the README's "Operator commands" sentence."""
    sentence = re.search(r"Operator commands \(.*?\):(.*?)\n\n", README, re.S)
    assert sentence, "the README lists no operator commands"
    return [item.split()[0] for item in re.findall(r"`([^`]+)`", sentence.group(1))]


def test_readme_names_every_command_and_only_those(app):
    """The README's operator list is exactly the app's own commands."""
    assert sorted(operator_commands()) == sorted(app.cli.commands)


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database nothing has touched: the operator migrates it first."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path}/centro311.db"
        return
    url = postgres_url()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{SCHEMA}"
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    engine.dispose()


class Flask:
    """``flask --app webapp …`` in this process, in a production environment."""

    def __init__(self, env: dict[str, str | None]) -> None:
        """Run every command with ``env`` (C311_* of the test run removed)."""
        outer = {k: None for k in os.environ if k.startswith(("C311_", "FLASK_"))}
        self.env = {**outer, **env}
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        """Run one command; the app it built is closed afterwards."""
        info = ScriptInfo()
        try:
            return self.runner.invoke(
                flask_cli,
                ["--app", "webapp", *args],
                env=self.env,
                obj=info,
                input=input,
                catch_exceptions=False,
            )
        finally:
            loaded: Any = getattr(info, "_loaded_app", None)
            if loaded is not None:
                loaded.extensions["centro311"].close()


def zipped(folder: Path, target: Path) -> Path:
    """A bundle folder as a .zip, the way a designer sends one."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, f"{folder.name}/{path.name}")
    target.write_bytes(buf.getvalue())
    return target


def test_readme_commands_work_as_written(
    empty_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Production shape, then deploying: each README command, in order."""
    # Flask's group marks the process as run from its command line.
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    monkeypatch.chdir(ROOT)  # the README's paths are relative to the clone
    commands = readme_commands()
    assert commands == [
        ["db-upgrade"],
        ["deploy-seed"],
        ["worker"],
        ["validate", "bpmn/queja"],
        ["deploy", "bpmn/queja", "--note", "Nuevo paso de revisión"]
        + ["--by", "disenador"],
        ["deploy", "alumbrado.zip"],
    ]
    db_upgrade, deploy_seed, worker, validate, deploy_queja, deploy_zip = commands
    deploy_zip[1] = str(zipped(ALUMBRADO, tmp_path / "alumbrado.zip"))
    # The README's environment, with real values where it writes "…".
    env: dict[str, str | None] = dict(readme_environment())
    assert env["C311_ENV"] == "production"
    assert env.keys() >= {"C311_SECRET_KEY", "C311_IDENTITY_KEY", "C311_DATABASE_URL"}
    env.update(
        C311_SECRET_KEY="s" * 32,
        C311_IDENTITY_KEY=new_key(),
        C311_DATABASE_URL=empty_database,
    )
    flask = Flask(env)

    def ok(*args: str, input: str | None = None) -> str:
        """Run a command that must succeed; its output."""
        result = flask(*args, input=input)
        assert result.exit_code == 0, (args, result.output)
        return result.output

    assert "Base de datos actualizada." in ok(*db_upgrade)
    seeded = ok(*deploy_seed)
    for key in ("queja", "denuncia", "sugerencia", "consulta"):
        assert f"Desplegado {key} v1" in seeded
    assert "ya estaban desplegadas" in ok(*deploy_seed)
    assert ok(*worker, "--once") == ""
    assert "Paquete válido: queja (Queja)" in ok(*validate)

    # No staff yet: the deploy names nobody real and is refused in one line.
    refused = flask(*deploy_queja)
    assert refused.exit_code == 1
    assert refused.output == "Error: No existe el usuario activo «disenador».\n"
    no_admin = flask(*deploy_zip)
    assert no_admin.exit_code == 1 and "ningún administrador activo" in no_admin.output

    assert "disenador" in ok("seed-demo")
    assert "Desplegado queja v2 por disenador" in ok(*deploy_queja)
    assert "Desplegado alumbrado v1 por admin" in ok(*deploy_zip)
    agent = flask("deploy", "bpmn/queja", "--by", "agente")
    assert agent.exit_code == 1
    assert "«agente» no es diseñador ni administrador" in agent.output

    created = ok(
        "create-user",
        "ana.mop",
        "--name",
        "Ana Obras",
        "--role",
        "enlace",
        "--entity",
        "MOP",
        input="clave-segura-1\nclave-segura-1\n",
    )
    assert "Usuario ana.mop creado." in created
    assert "Usuario dora creado." in ok(
        "create-user",
        "dora",
        "--name",
        "Dora Diseño",
        "--role",
        "disenador",
        "--password",
        "clave-segura-2",
    )
    assert "Desplegado queja v3 por dora" in ok("deploy", "bpmn/queja", "--by", "dora")
    assert ok(*worker, "--once") == ""

    engine = create_engine(empty_database)
    try:
        with engine.connect() as conn:
            audit = [
                (row.actor, row.action, row.detail["source"])
                for row in conn.execute(select(AuditLog).order_by(AuditLog.id))
            ]
            users = set(conn.scalars(select(User.username)))
    finally:
        engine.dispose()
    assert audit == [
        ("sistema", "deploy", "seed"),  # consulta, denuncia, queja, sugerencia
        ("sistema", "deploy", "seed"),
        ("sistema", "deploy", "seed"),
        ("sistema", "deploy", "seed"),
        ("disenador", "deploy", "cli"),
        ("admin", "deploy", "cli"),
        ("dora", "deploy", "cli"),
    ]
    assert {"ana.mop", "dora", "disenador"} <= users


def test_validate_lists_problems_of_a_broken_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken bundle: every problem on stderr, exit 1, nothing stored."""
    monkeypatch.setenv("FLASK_RUN_FROM_CLI", "false")
    broken = tmp_path / "queja"
    broken.mkdir()
    bpmn = (ROOT / "bpmn" / "queja" / "queja.bpmn").read_text(encoding="utf-8")
    (broken / "queja.bpmn").write_text(bpmn.replace("</bpmn:definitions>", ""))
    flask = Flask({"C311_DATABASE_URL": f"sqlite:///{tmp_path}/nunca.db"})
    result = flask("validate", str(broken))
    assert result.exit_code == 1
    assert result.stderr.startswith("ERROR queja.bpmn")
    assert not (tmp_path / "nunca.db").exists()


# --------------------------------------------------------------------------
# A fresh clone: no environment, no instance folder, production by default


def fresh_clone(tmp_path: Path) -> Path:
    """An empty folder holding only links to the code: no instance/, no env.

    Flask puts the instance folder next to the package it imports, so the
    app run from here has its own (empty) ``instance/``.
    """
    clone = tmp_path / "clone"
    clone.mkdir()
    for package in ("engine", "webapp"):
        (clone / package).symlink_to(ROOT / package, target_is_directory=True)
    (clone / "gunicorn.conf.py").symlink_to(ROOT / "gunicorn.conf.py")
    return clone


def fresh_env(clone: Path) -> dict[str, str]:
    """No environment but a PATH and a home of its own."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(clone)}


def start(clone: Path, *args: str) -> subprocess.Popen[str]:
    """``flask --app webapp ARGS`` in ``clone``, with an empty environment."""
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "webapp", *args],
        cwd=clone,
        env=fresh_env(clone),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


#: Runs ``flask --app webapp ARGS --help`` for each ARGS given (JSON) in one
#: process, through the group the ``flask`` script runs, so that one start-up
#: serves every command; prints exit code, stdout, stderr and any exception.
HELP_DRIVER = """
import json, sys
from click.testing import CliRunner
from flask.cli import cli
runner = CliRunner()
found = {}
for args in json.loads(sys.argv[1]):
    r = runner.invoke(cli, ["--app", "webapp", *args, "--help"])
    crash = None if isinstance(r.exception, (SystemExit, type(None))) else r.exception
    found[" ".join(args)] = [r.exit_code, r.stdout, r.stderr, repr(crash)]
print(json.dumps(found))
"""


def test_fresh_clone_help_and_validate_need_no_environment(tmp_path: Path) -> None:
    """--help of every command and validate run with ENV unset and no secrets.

    The commands that serve or start workers refuse in one line instead of a
    traceback. The processes run side by side to keep the test short.
    """
    clone = fresh_clone(tmp_path)
    queja = str(ROOT / "bpmn" / "queja")
    commands = [[], *([name] for name in operator_commands())]
    helps = subprocess.Popen(
        [sys.executable, "-c", HELP_DRIVER, json.dumps(commands)],
        cwd=clone,
        env=fresh_env(clone),
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    runs = {
        "validate": start(clone, "validate", queja),
        "worker": start(clone, "worker", "--once"),
        "serve": start(clone, "serve", "--port", "1"),
    }
    done = {}
    for name, proc in runs.items():
        out, err = proc.communicate(timeout=120)
        done[name] = (proc.returncode, out, err)
    found = json.loads(helps.communicate(timeout=120)[0])
    assert helps.returncode == 0
    for args in commands:
        code, out, err, crash = found[" ".join(args)]
        assert (code, err, crash) == (0, "", "None"), (args, err, crash)
        assert out.startswith("Usage: "), (args, out)
    for name in operator_commands():
        assert name in found[""][1]
    tests = len(list((ROOT / "bpmn" / "queja" / "tests").glob("*.json")))
    assert done["validate"] == (
        0,
        f"Paquete válido: queja (Queja)\nEscenarios de prueba: los {tests} pasaron.\n",
        "",
    )
    for name in ("worker", "serve"):
        code, out, err = done[name]
        assert code == 1 and out == "", (name, out)
        assert err.startswith("Error: Falta SECRET_KEY") and err.count("\n") == 1
    # Production makes up no secret, and nothing touched the database.
    instance = clone / "instance"
    assert not instance.exists() or not list(instance.iterdir())


def readme_gunicorn() -> list[str]:
    """The README's ``gunicorn …`` line, as args, bound to a free local port."""
    lines = [
        line.split("#")[0]
        for block in re.findall(r"```sh\n(.*?)```", README, re.S)
        for line in block.splitlines()
        if line.startswith("gunicorn ")
    ]
    assert len(lines) == 1, lines
    words = shlex.split(lines[0])
    words[words.index("-b") + 1] = "127.0.0.1:0"
    return words[1:]


def test_gunicorn_refuses_without_secret_in_one_line(tmp_path: Path) -> None:
    """gunicorn as the README starts it, in production without a secret.

    From the clone's root gunicorn reads ``gunicorn.conf.py``: the master
    refuses before forking a worker. With another config file a worker's app
    factory refuses, the same way. Either ends with status 4 (gunicorn's "App
    failed to load", so no worker is booted again) and the one line, never a
    traceback. Both run side by side to keep the test short.
    """
    from gunicorn.arbiter import Arbiter  # type: ignore[import-untyped]

    from webapp import SERVER_REFUSAL_STATUS

    assert SERVER_REFUSAL_STATUS == Arbiter.APP_LOAD_ERROR
    clone = fresh_clone(tmp_path)
    (tmp_path / "other.conf.py").write_text("")
    args = readme_gunicorn()
    # One worker: with several, gunicorn itself may print a traceback when a
    # second one fails while it is stopping (what the master's check avoids).
    one_worker = [*args]
    one_worker[one_worker.index("-w") + 1] = "1"
    runs = {
        "master": args,
        "worker": ["-c", str(tmp_path / "other.conf.py"), *one_worker],
    }
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *gunicorn_args],
            cwd=clone,
            env={**fresh_env(clone), "C311_ENV": "production"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for name, gunicorn_args in runs.items()
    }
    done = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=30)
            done[name] = (proc.returncode, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    refusal = "Error: Falta SECRET_KEY: defina C311_SECRET_KEY"
    for name, (code, err) in done.items():
        assert code == SERVER_REFUSAL_STATUS, (name, code, err)
        assert "Traceback" not in err, (name, err)
        assert err.count(refusal) == 1, (name, err)
    code, err = done["master"]
    assert "Booting worker" not in err, err
    assert err.rstrip("\n").endswith("antes de arrancar en producción."), err
