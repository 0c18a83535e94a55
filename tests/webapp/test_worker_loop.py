"""The worker loop never dies: failing passes, outages and interrupts.

Passes run for real (database, SMTP server); only the waiting between passes
is handed to the test, so no test sleeps for the backoff.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import make_url

from engine import services
from engine.domain.clock import FrozenClock
from engine.services import mail
from engine.services.platform import Platform
from engine.workflow.calendar import PANAMA
from tests.conftest import IDENTITY_KEY, ON_POSTGRES
from tests.engine.test_mail_delivery import INJECTED, Inbox, free_port, smtp_server
from tests.engine.test_worker import counts, deploy
from webapp.cli import MAX_BACKOFF_S, run_worker, start_worker_thread

INTERVAL = 5.0


@pytest.fixture
def smtp(app: Any) -> Iterator[Inbox]:
    """A local SMTP server the app's worker sends to."""
    inbox = Inbox()
    with smtp_server(inbox) as port:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
        yield inbox


def queue(app: Any, *addresses: str) -> None:
    """Queue one message per address through the outbox."""
    p = app.extensions["centro311"]
    with p.db.transaction() as s:
        for to in addresses:
            mail.enqueue(s, to, "Aviso", "Cuerpo", None, p.clock())


class Passes:
    """Stop a loop after ``n`` passes, recording the waits it asked for."""

    def __init__(self, n: int) -> None:
        """Allow ``n`` passes."""
        self.left = n
        self.waits: list[float] = []

    def should_stop(self) -> bool:
        """True once the passes are used up."""
        return self.left <= 0

    def sleep(self, seconds: float) -> None:
        """Record the wait instead of waiting, and count a pass."""
        self.waits.append(seconds)
        self.left -= 1


def failing_timers(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """Make the next ``times`` timer runs raise; returns the call counter."""
    real = services.fire_due_timers
    calls = [0]

    def fire(p: Platform, **kw: Any) -> int:
        calls[0] += 1
        if calls[0] <= times:
            raise RuntimeError(f"pass {calls[0]} broke")
        return real(p, **kw)

    monkeypatch.setattr(services, "fire_due_timers", fire)
    return calls


def test_loop_survives_a_pass_that_raises(app, smtp, monkeypatch, caplog):
    """A pass that raises is logged; the loop goes on and mail still flows."""
    app.config["WORKER_INTERVAL_S"] = INTERVAL
    failing_timers(monkeypatch, 1)
    queue(app, "vecina@example.pa")
    passes = Passes(3)
    stats = run_worker(app, should_stop=passes.should_stop, sleep=passes.sleep)
    assert (stats.passes, stats.failures) == (3, 1)
    # The timers' failure did not hold back the mail of that same pass.
    assert [r for rcpts, _ in smtp.messages for r in rcpts] == ["vecina@example.pa"]
    assert passes.waits == [2 * INTERVAL, INTERVAL, INTERVAL]
    assert "pass 1 broke" in caplog.text


def test_backoff_doubles_up_to_a_minute_and_resets(app, monkeypatch):
    """Failing passes wait 2×, 4×, … the interval (≤ 60 s); a good one resets."""
    app.config["WORKER_INTERVAL_S"] = INTERVAL
    failing_timers(monkeypatch, 5)
    passes = Passes(7)
    stats = run_worker(app, should_stop=passes.should_stop, sleep=passes.sleep)
    assert stats.failures == 5
    assert passes.waits == [10.0, 20.0, 40.0, MAX_BACKOFF_S, MAX_BACKOFF_S, 5.0, 5.0]


def test_newline_address_does_not_end_the_loop(app, smtp):
    """The injected address is failed and the loop keeps sending."""
    from tests.webapp.test_mail import queue_raw

    queue_raw(app, INJECTED)
    queue(app, "uno@example.pa")
    passes = Passes(2)
    stats = run_worker(app, should_stop=passes.should_stop, sleep=passes.sleep)
    assert (stats.passes, stats.failures, stats.sent) == (2, 0, 1)
    assert [r for rcpts, _ in smtp.messages for r in rcpts] == ["uno@example.pa"]


def test_interrupt_stops_the_loop_cleanly(app):
    """Ctrl-C while waiting ends the loop with its counts, no traceback."""

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    stats = run_worker(app, sleep=interrupted)
    assert (stats.passes, stats.failures) == (1, 0)


def test_worker_command_once(app, smtp, monkeypatch):
    """`flask worker --once` sends the mail; a failed pass exits with 1."""
    queue(app, "uno@example.pa")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 correos enviados" in result.output
    failing_timers(monkeypatch, 1)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 1


def test_in_process_worker_runs_the_same_loop(app, smtp, monkeypatch):
    """`make run`'s thread survives a failing pass, sends mail and stops."""
    app.config["WORKER_INTERVAL_S"] = 0.01
    calls = failing_timers(monkeypatch, 1)
    queue(app, "uno@example.pa")
    stop = threading.Event()
    thread = start_worker_thread(app, stop=stop)
    deadline = time.monotonic() + 10
    while calls[0] < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert calls[0] >= 3  # passes went on after the failing one
    assert [r for rcpts, _ in smtp.messages for r in rcpts] == ["uno@example.pa"]


class Forwarder:
    """A TCP forwarder on the loopback interface, to cut a database off.

    ``stop`` closes the listening socket and every live connection, as a
    database restart would; ``start`` listens again on the same port.
    """

    def __init__(self, host: str, port: int) -> None:
        """Forward a free local port to ``host:port``."""
        self.target = (host, port)
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.live: set[socket.socket] = set()
        self.lock = threading.Lock()

    def start(self) -> None:
        """Listen and forward new connections."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        """Accept connections until the listener is closed."""
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.live |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(src, dst), daemon=True
                ).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        """Copy bytes one way until either side closes."""
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close(src, dst)

    def _close(self, *socks: socket.socket) -> None:
        """Shut sockets down both ways (wakes their pumps) and close them."""
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            with self.lock:
                self.live.discard(sock)

    def stop(self) -> None:
        """Refuse new connections and cut the live ones."""
        if self.listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone does not.
            self._close(self.listener)
            self.listener = None
        with self.lock:
            live = list(self.live)
        self._close(*live)


@pytest.mark.postgres
def test_loop_waits_out_a_database_outage(db_url, demo_hash, tmp_path, caplog):
    """PostgreSQL goes away mid-loop and comes back: work resumes, no restart."""
    if not ON_POSTGRES:
        pytest.skip("runs on PostgreSQL (C311_TEST_ON_POSTGRES=1)")
    from webapp import create_app

    clock = FrozenClock(datetime(2026, 10, 30, 10, 0, tzinfo=PANAMA))
    direct = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    deploy(direct)
    url = make_url(db_url)
    forwarder = Forwarder(url.host or "127.0.0.1", url.port or 5432)
    forwarder.start()
    through = url.set(host="127.0.0.1", port=forwarder.port)
    inbox = Inbox()
    with smtp_server(inbox) as smtp_port:
        app = create_app(
            {
                "ENV": "testing",
                "SECRET_KEY": "test-secret",
                "IDENTITY_KEY": IDENTITY_KEY,
                "DATABASE_URL": through.render_as_string(hide_password=False),
                "CLOCK": clock,
                "WORKER_INTERVAL_S": INTERVAL,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": smtp_port,
            }
        )
        app.instance_path = str(tmp_path / "instance")
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            """Between passes: cut the database, queue work, bring it back."""
            waits.append(seconds)
            if len(waits) == 1:
                forwarder.stop()
                # Work arrives while the worker cannot reach the database.
                services.open_case(direct, "temporizador", {"divisor": 1})
                clock.advance(days=5)
                with direct.db.transaction() as s:
                    mail.enqueue(s, "vecina@example.pa", "Aviso", "x", None, clock())
            elif len(waits) == 3:
                forwarder.start()

        try:
            stats = run_worker(app, should_stop=lambda: len(waits) >= 4, sleep=sleep)
        finally:
            forwarder.stop()
            app.extensions["centro311"].close()
    assert (stats.passes, stats.failures) == (4, 2)
    assert waits == [INTERVAL, 2 * INTERVAL, 4 * INTERVAL, INTERVAL]
    assert "OperationalError" in caplog.text
    assert "vecina@example.pa" not in caplog.text  # no parameters in the log
    assert (stats.fired, stats.sent) == (1, 1)
    assert counts(direct) == (1, 1)  # the due timer fired once
    assert [r for rcpts, _ in inbox.messages for r in rcpts] == ["vecina@example.pa"]
    direct.close()
