"""Operator commands: validate and deploy bundles from the command line."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVALID = ROOT / "tests" / "fixtures" / "invalid"
ALUMBRADO = ROOT / "tests" / "fixtures" / "bundles" / "alumbrado"


def test_validate_lists_problems_and_exits_1(app):
    """`flask validate` on a broken bundle prints each problem, exit code 1."""
    runner = app.test_cli_runner()
    broken = next(p for p in sorted(INVALID.iterdir()) if p.is_dir())
    result = runner.invoke(args=["validate", str(broken)])
    assert result.exit_code == 1
    assert "ERROR" in result.output


def test_deploy_folder_and_zip(app, tmp_path):
    """`flask deploy` takes a folder or a zip and makes the next version."""
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["validate", str(ALUMBRADO)])
    assert ok.exit_code == 0, ok.output
    assert "alumbrado" in ok.output
    first = runner.invoke(args=["deploy", str(ALUMBRADO), "--note", "v1"])
    assert first.exit_code == 0 and "alumbrado v1" in first.output
    # A new case type stays a draft until someone confirms it.
    assert "tipo de caso nuevo: quedó como borrador" in first.output
    archive = tmp_path / "alumbrado.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in ALUMBRADO.iterdir():
            zf.write(path, f"alumbrado/{path.name}")
    archive.write_bytes(buf.getvalue())
    assert "Reparación" not in app.test_client().get("/").get_data(as_text=True)
    second = runner.invoke(args=["deploy", str(archive), "--confirm-new"])
    assert second.exit_code == 0 and "alumbrado v2" in second.output
    assert "borrador" not in second.output
    assert "Reparación" in app.test_client().get("/").get_data(as_text=True)


def test_deploy_a_draft(app):
    """`flask deploy --draft` stores a draft: new cases keep the published one."""
    runner = app.test_cli_runner()
    queja = str(ROOT / "bpmn" / "queja")
    done = runner.invoke(args=["deploy", queja, "--draft", "--by", "disenador"])
    assert done.exit_code == 0, done.output
    assert "Desplegado queja v2 por disenador" in done.output
    assert "Es un borrador" in done.output
    page = app.test_client().get("/casos/nuevo/queja")
    assert page.status_code == 200
    with app.app_context():
        from engine.services import versions
        from webapp.helpers import platform

        listed = versions.list_versions(platform(), "queja")
    assert [(v.version, v.status) for v in listed] == [
        (2, "draft"),
        (1, "published"),
    ]


def test_validate_and_deploy_a_seed_folder_add_its_forms_and_shared_tables(app):
    """`bpmn/queja` brings forms/queja and the bpmn/shared tables it calls."""
    runner = app.test_cli_runner()
    queja = str(ROOT / "bpmn" / "queja")
    ok = runner.invoke(args=["validate", queja])
    assert ok.exit_code == 0 and "Paquete válido: queja" in ok.output, ok.output
    done = runner.invoke(args=["deploy", queja, "--note", "v2", "--by", "disenador"])
    assert done.exit_code == 0, done.output
    assert "Desplegado queja v2 por disenador" in done.output


def test_deploy_names_a_real_designer(app):
    """--by must be an active designer or admin; refusals are one line."""
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["deploy", str(ALUMBRADO), "--by", "nadie"])
    assert unknown.exit_code == 1
    assert unknown.output == "Error: No existe el usuario activo «nadie».\n"
    agent = runner.invoke(args=["deploy", str(ALUMBRADO), "--by", "agente"])
    assert agent.exit_code == 1
    assert agent.output == (
        "Error: «agente» no es diseñador ni administrador: no puede desplegar.\n"
    )
    missing = runner.invoke(args=["deploy", str(ALUMBRADO / "nada")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert "alumbrado" not in app.test_client().get("/").get_data(as_text=True)


def production_app(tmp_path):
    """A production app built the way the flask command builds it: unchecked."""
    from webapp import create_app

    app = create_app(
        {"ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/p.db"},
        check_secrets=False,
    )
    app.config.update(SECRET_KEY=None, IDENTITY_KEY=None)  # whatever the host has
    return app


def test_serving_and_worker_commands_refuse_without_secrets(tmp_path):
    """worker and serve stop in one line; validate runs without any secret."""
    app = production_app(tmp_path)
    runner = app.test_cli_runner()
    for args in (["worker", "--once"], ["serve", "--port", "1"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: Falta SECRET_KEY")
        assert result.output.count("\n") == 1
    ok = runner.invoke(args=["validate", str(ALUMBRADO)])
    assert ok.exit_code == 0, ok.output
    assert not (tmp_path / "p.db").exists()
    app.extensions["centro311"].close()


def test_an_unchecked_app_serves_nothing_without_secrets(tmp_path):
    """Handed to another server (`flask run`), it answers 503 with the reason."""
    app = production_app(tmp_path)
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert "SECRET_KEY" in resp.get_data(as_text=True)
    app.extensions["centro311"].close()
