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
    archive = tmp_path / "alumbrado.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in ALUMBRADO.iterdir():
            zf.write(path, f"alumbrado/{path.name}")
    archive.write_bytes(buf.getvalue())
    second = runner.invoke(args=["deploy", str(archive)])
    assert second.exit_code == 0 and "alumbrado v2" in second.output
    assert "Reparación" in app.test_client().get("/").get_data(as_text=True)
