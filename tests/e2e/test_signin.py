"""Sign-in in a real Chromium: a new enlace gets an invitation by mail (a
local SMTP server), chooses a password, enrols TOTP and signs in with a
code the test computes, on a desktop window and a phone-sized one."""

from __future__ import annotations

from typing import Any

from engine.services import accounts, signin
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import accept_invitation_and_enrol, mailed_link
from tests.engine.test_mail_delivery import Inbox
from webapp.cli import worker_pass

PASSWORD = "cinco patos cruzan el canal"


def test_invited_enlace_sets_password_enrols_totp_and_signs_in(
    app: Any, live_server: str, page: Any, smtp: Inbox
) -> None:
    """Invitation → password → TOTP enrolment → sign-in with a code."""
    p = app.extensions["centro311"]
    base = live_server
    created = accounts.create_user(
        p,
        "nora.mop",
        "Nora Enlace (MOP)",
        None,
        ["enlace"],
        entity_codes=["MOP"],
        email="nora@mop.gob.pa",
    )
    admin = accounts.authenticate(p, "admin", DEMO_PASSWORD, client="e2e")
    signin.invite_user(p, admin, created.id)
    assert worker_pass(app) == (0, 1)
    link = mailed_link(smtp, base, "nora@mop.gob.pa")
    accept_invitation_and_enrol(
        page, base, link, "nora.mop", "Nora Enlace (MOP)", PASSWORD
    )
