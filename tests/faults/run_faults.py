"""Fault test: the production shape under kill -9 and a database stop.

Run with ``make faults`` (about a minute and a half; not part of ``make test``).

The script is its own little data center, on loopback only:

1. a private PostgreSQL cluster in a temporary folder, on a free port, with
   ``fsync`` on (durability is what is tested);
2. the app migrated and seeded with the operator commands, then served by
   ``gunicorn -w 2`` and worked by ``flask worker`` processes, all with a
   production configuration (real secret and identity keys);
3. a bounded load: citizens filing quejas through the real web form and the
   demo agent classifying them from ``/tareas``; a client whose request fails
   (network error or 5xx) re-sends the same rendered form, like a person
   pressing F5, which is what makes "duplicated" meaningful; one filing in
   ten is also posted twice at once (a double click);
4. faults during the load: ``kill -9`` of a gunicorn worker (twice, once while
   the database is down), ``kill -9`` of a ``flask worker`` (twice), and a
   20 s ``pg_ctl stop -m fast``.

The harness is the process supervisor (like systemd ``Restart=always``): it
restarts what it killed, and counts any process that exits without being
killed by it as a dead worker (it restarts those too, after a second).

At the end it prints one line::

    attempted=N acknowledged=N stored=N lost=N duplicated=N dead_workers=N

``attempted`` counts filings posted at least once, ``acknowledged`` those
answered with the 303 to ``/casos/confirmacion``, ``stored`` the distinct
filings found in the database, ``lost`` the acknowledged ones missing there,
``duplicated`` the filings stored more than once. A second line does the same
for the agent's completions and for receipts that named another case. The
exit status is 1 on any loss, duplicate, wrong receipt or dead worker (or a
``/healthz`` that does not answer 200 at the end), 0 otherwise; 130 on Ctrl-C, 2
when the setup fails. Logs (app, gunicorn access log, PostgreSQL) are kept,
and their folder printed, unless the run passes; processes and the cluster
are always removed, also on Ctrl-C.

Options: ``--duration`` seconds of load (default 54), ``--filers`` citizen
threads (6), ``--workers`` ``flask worker`` processes (2), ``--keep-logs``.
Two options test the test: ``--drop-key`` posts without the form's
idempotency field (double clicks and re-sends should then show up as
duplicates) and ``--self-check`` alters one stored case before checking
(it must report ``lost=1 duplicated=1`` and exit 1).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INTAKE = "/casos/nuevo/queja"
CONFIRMATION = "/casos/confirmacion"
IDEMPOTENCY_FIELD = "idempotencia"
AGENT, AGENT_PASSWORD = "agente", "demo311"
HTTP_TIMEOUT_S = 10.0
# Pauses before each re-send of a failed request: a person pressing F5 a few
# times, not a client that waits out a whole outage.
RETRY_PAUSES_S = (0.5, 1.0, 2.0, 4.0)
DB_DOWN_S = 20.0
GRACE_S = 10.0
GUNICORN_WORKERS = 2
CATEGORIES = ("vias", "agua", "basura", "salud", "transito")
NUMBER = re.compile(r"311-\d{4}-\d+")


# --------------------------------------------------------------------------
# Small helpers


class Log:
    """Timestamped progress lines, from any thread, flushed at once."""

    def __init__(self) -> None:
        """Start the clock."""
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def __call__(self, phase: str, message: str) -> None:
        """Print one line: seconds since start, phase, message."""
        with self.lock:
            elapsed = time.monotonic() - self.start
            print(f"[{elapsed:6.1f}s] {phase:<15} {message}", flush=True)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def venv_bin() -> Path:
    """The folder with flask and gunicorn: this interpreter's, else .venv's."""
    here = Path(sys.executable).parent
    return here if (here / "flask").exists() else ROOT / ".venv" / "bin"


def live_children(pid: int) -> list[int]:
    """Running (not zombie) children of ``pid``, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces or parentheses: split after it.
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state not in ("Z", "X"):
            found.append(int(entry))
    return sorted(found)


def tail(path: Path, lines: int = 3) -> str:
    """The last non-blank lines of a log file, joined, for evidence."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])[:400]


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """SIGTERM, then SIGKILL to its whole session if it lingers."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        # Started with start_new_session: its process group is its pid.
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    except OSError:
        pass


# --------------------------------------------------------------------------
# The private PostgreSQL cluster


class Cluster:
    """A throwaway PostgreSQL cluster in a temporary folder, on one port."""

    def __init__(self, base: Path, port: int) -> None:
        """Place the cluster under ``base``; nothing runs yet."""
        self.port = port
        self.dir = base / "pg"
        self.data = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        versions = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
            key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
        )
        found = shutil.which("pg_ctl")
        if versions:
            self.bin = Path(versions[-1]).parent
        elif found:
            self.bin = Path(found).parent
        else:
            raise RuntimeError("no PostgreSQL binaries (pg_ctl) found")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        self.conninfo = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"

    def _run(self, *args: str, timeout: float = 60) -> str:
        """Run a PostgreSQL program, as the postgres user when we are root.

        initdb and postgres refuse to run as root, hence runuser. The
        programs run in the cluster folder, which that user can enter.
        """
        command = [str(self.bin / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command,
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            # Ctrl-C in the terminal reaches only the harness, which cleans up.
            start_new_session=True,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stdout}{done.stderr}"
                f"{tail(self.logfile, 5)}"
            )
        return done.stdout

    def create(self) -> None:
        """initdb with trust auth and write the settings this test needs."""
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        )
        # fsync and synchronous commit stay on: an acknowledged filing must
        # survive the stop. The socket lives in our folder, not /run.
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nport = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\n"
                "fsync = on\n"
                "synchronous_commit = on\n"
                "full_page_writes = on\n"
                "max_connections = 100\n"
            )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.logfile),
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open transactions, checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def destroy(self) -> None:
        """Stop whatever still runs and delete the folder; never raises."""
        pidfile = self.data / "postmaster.pid"
        if pidfile.exists():
            with contextlib.suppress(RuntimeError, OSError, subprocess.SubprocessError):
                self.stop("immediate")
        if pidfile.exists():
            # pg_ctl could not stop it: kill the postmaster (its children exit
            # when it is gone).
            try:
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
                time.sleep(1)
            except (OSError, ValueError, IndexError):
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


# --------------------------------------------------------------------------
# An SMTP sink, so the worker's mail goes somewhere


class MailSink:
    """Accepts every message on a loopback port and counts them (aiosmtpd)."""

    def __init__(self) -> None:
        """Pick a port; start() listens on it when aiosmtpd is installed."""
        self.port = free_port()
        self.received = 0
        self.lock = threading.Lock()
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook name
        """Count the message and accept it."""
        with self.lock:
            self.received += 1
        return "250 OK"

    def start(self) -> bool:
        """Listen; False (mail then fails, which must not matter) without aiosmtpd."""
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            return False
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return True

    def stop(self) -> None:
        """Stop listening; never raises."""
        if self.controller is not None:
            # Cleanup goes on whatever the sink says.
            with contextlib.suppress(Exception):
                self.controller.stop()


# --------------------------------------------------------------------------
# The processes under test, and the harness as their supervisor


@dataclass
class Slot:
    """One ``flask worker`` the supervisor keeps running."""

    number: int
    proc: subprocess.Popen[bytes] | None = None
    logfile: Path = Path("/dev/null")
    starts: int = 0
    restart_at: float | None = None


class Supervisor:
    """Starts gunicorn and the workers; restarts them; counts unplanned deaths.

    Like systemd ``Restart=always``: a process the harness killed on purpose
    is restarted at once; one that exits on its own is a dead worker (counted,
    with the tail of its log as evidence) and is restarted a second later.
    Gunicorn replaces its own killed workers; the supervisor only watches
    that every worker that disappears was one the harness killed.
    """

    def __init__(self, env: dict[str, str], logs: Path, log: Log, port: int) -> None:
        """Remember how to start things; nothing runs yet."""
        self.env = env
        self.logs = logs
        self.log = log
        self.port = port
        self.bin = venv_bin()
        self.lock = threading.Lock()
        self.planned: set[int] = set()
        self.dead: list[str] = []
        self.slots: list[Slot] = []
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.gunicorn_starts = 0
        self.gunicorn_log = logs / "gunicorn-1.log"
        self.web_pids: set[int] = set()
        self.dead_masters: set[int] = set()
        self.watching = threading.Event()
        self.thread: threading.Thread | None = None

    def _spawn(self, args: list[str], logfile: Path) -> subprocess.Popen[bytes]:
        """Start one process from the repository root, output to a log file."""
        with open(logfile, "ab") as out:
            return subprocess.Popen(
                args,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_gunicorn(self) -> None:
        """Start the gunicorn master (it forks the web workers)."""
        self.gunicorn_starts += 1
        logfile = self.logs / f"gunicorn-{self.gunicorn_starts}.log"
        self.gunicorn = self._spawn(
            [
                str(self.bin / "gunicorn"),
                "-w",
                str(GUNICORN_WORKERS),
                "-b",
                f"127.0.0.1:{self.port}",
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
                # Each request with its worker pid, status and seconds taken:
                # the evidence when a request fails or is slow.
                "--access-logfile",
                str(self.logs / "access.log"),
                "--access-logformat",
                '%(t)s pid=%(p)s "%(r)s" %(s)s %(L)ss',
                "webapp:create_app()",
            ],
            logfile,
        )
        self.gunicorn_log = logfile

    def start_worker(self, slot: Slot) -> None:
        """Start (or restart) one ``flask worker``."""
        slot.starts += 1
        slot.logfile = self.logs / f"worker-{slot.number}-{slot.starts}.log"
        slot.proc = self._spawn(
            [str(self.bin / "flask"), "--app", "webapp", "worker"], slot.logfile
        )
        slot.restart_at = None

    def start(self, workers: int) -> None:
        """Start everything and the watching thread."""
        self.start_gunicorn()
        for n in range(1, workers + 1):
            slot = Slot(n)
            self.slots.append(slot)
            self.start_worker(slot)
        self.watching.set()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def gunicorn_workers(self) -> list[int]:
        """PIDs of the live web workers (children of the gunicorn master)."""
        if self.gunicorn is None or self.gunicorn.poll() is not None:
            return []
        return live_children(self.gunicorn.pid)

    def kill_web(self) -> int | None:
        """kill -9 one gunicorn worker; gunicorn forks a replacement."""
        pids = self.gunicorn_workers()
        if not pids:
            return None
        pid = random.choice(pids)
        with self.lock:
            self.planned.add(pid)
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_worker(self, number: int) -> int | None:
        """kill -9 one ``flask worker``; the watcher restarts it."""
        slot = self.slots[(number - 1) % len(self.slots)]
        with self.lock:
            proc = slot.proc
            if proc is None or proc.poll() is not None:
                return None
            self.planned.add(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        return proc.pid

    def _died(self, what: str) -> None:
        """Record a process that exited without being killed by the harness."""
        with self.lock:
            self.dead.append(what)
        self.log("DEAD", what)

    def _watch(self) -> None:
        """Every 0.2 s: restart exited processes, notice unplanned deaths."""
        while self.watching.is_set():
            self._check_once(restart=True)
            time.sleep(0.2)

    def _check_once(self, restart: bool) -> None:
        """One look at every supervised process; restart what exited."""
        now = time.monotonic()
        deaths: list[str] = []
        restarted: list[Slot] = []
        with self.lock:
            for slot in self.slots:
                proc = slot.proc
                if proc is None or proc.poll() is None:
                    continue
                if slot.restart_at is None:
                    planned = proc.pid in self.planned
                    # A crash waits a second (systemd's RestartSec), so a
                    # worker that dies at start does not spin the CPU.
                    slot.restart_at = now if planned else now + 1.0
                    if not planned:
                        deaths.append(
                            f"flask worker {slot.number} (pid {proc.pid}) exited on "
                            f"its own, code {proc.returncode}: {tail(slot.logfile)}"
                        )
                if restart and now >= slot.restart_at:
                    self.start_worker(slot)
                    restarted.append(slot)
            planned_pids = set(self.planned)
        for what in deaths:
            self._died(what)
        for slot in restarted:
            pid = slot.proc.pid if slot.proc else None
            self.log("supervisor", f"flask worker {slot.number} restarted (pid {pid})")
        master = self.gunicorn
        if master is not None and master.poll() is not None:
            if master.pid not in self.dead_masters:
                self.dead_masters.add(master.pid)
                self._died(
                    f"gunicorn master (pid {master.pid}) exited, code "
                    f"{master.returncode}: {tail(self.gunicorn_log)}"
                )
            self.web_pids = set()
            if restart:
                self.start_gunicorn()
            return
        current = set(self.gunicorn_workers())
        for pid in sorted(self.web_pids - current - planned_pids):
            self._died(f"gunicorn worker (pid {pid}) exited on its own")
        self.web_pids = current

    def stop_watching(self) -> None:
        """Stop restarting; count what died since the last look."""
        if self.thread is None:
            return
        self.watching.clear()
        self.thread.join(timeout=5)
        self.thread = None
        self._check_once(restart=False)

    def shutdown(self) -> None:
        """Terminate everything this supervisor started; never raises."""
        self.watching.clear()
        for slot in self.slots:
            if slot.proc is not None:
                stop_process(slot.proc)
        if self.gunicorn is not None:
            stop_process(self.gunicorn, grace_s=10.0)


# --------------------------------------------------------------------------
# A minimal browser: cookies, forms, no redirects followed


class TransportError(Exception):
    """The request got no HTTP answer (refused, reset, timed out)."""


@dataclass
class Reply:
    """Status, redirect target and body of one HTTP answer."""

    status: int
    location: str
    body: str

    @property
    def location_path(self) -> str:
        """The path of the Location header ('' without one)."""
        return urllib.parse.urlsplit(self.location).path


class Browser:
    """One person's browser: a cookie jar and requests with a timeout.

    Cookies go back whatever their Secure flag says: the test speaks plain
    http on loopback, the way a TLS-terminating proxy would to the app, so
    the production configuration (secure cookies) stays as it is.
    """

    def __init__(self, port: int) -> None:
        """Talk to 127.0.0.1:port."""
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> Reply:
        """One request on a fresh connection; TransportError without an answer."""
        headers = {"Connection": "close", "Accept-Language": "es"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=HTTP_TIMEOUT_S
        )
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            for header in resp.headers.get_all("Set-Cookie") or []:
                self._keep_cookie(header)
            return Reply(
                resp.status,
                resp.headers.get("Location", ""),
                data.decode("utf-8", "replace"),
            )
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"{exc.__class__.__name__}: {exc}") from exc
        finally:
            conn.close()

    def _keep_cookie(self, header: str) -> None:
        """Store (or delete) the cookie a Set-Cookie header carries."""
        pair, _, attributes = header.partition(";")
        name, _, value = pair.strip().partition("=")
        attrs = attributes.lower()
        expired = "max-age=0" in attrs.replace(" ", "") or "1970" in attrs
        if not value or expired:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = value

    def get(self, path: str) -> Reply:
        """GET a page."""
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str]) -> Reply:
        """POST a url-encoded form."""
        return self.request("POST", path, form)


@dataclass
class Form:
    """One <form> of a page: its hidden inputs and the fields it shows."""

    hidden: dict[str, str] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    options: dict[str, list[str]] = field(default_factory=dict)
    selected: dict[str, str] = field(default_factory=dict)


class FormParser(HTMLParser):
    """Collects the forms of a page (inputs, selects and their options)."""

    def __init__(self) -> None:
        """Start with no forms."""
        super().__init__()
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record form fields as they open."""
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.current = Form()
            self.forms.append(self.current)
            return
        if self.current is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            if a.get("type", "").lower() == "hidden":
                self.current.hidden[name] = a.get("value", "")
            else:
                self.current.names.add(name)
        elif tag in ("textarea", "select") and name:
            self.current.names.add(name)
            if tag == "select":
                self.select = name
                self.current.options[name] = []
        elif tag == "option" and self.select:
            value = a.get("value", "")
            self.current.options[self.select].append(value)
            if "selected" in a:
                self.current.selected[self.select] = value

    def handle_endtag(self, tag: str) -> None:
        """Close selects and forms."""
        if tag == "select":
            self.select = None
        elif tag == "form":
            self.current = None


def error_text(page: str) -> str:
    """The error messages a page shows (for the log), else its <title>."""
    errors = re.findall(
        r'class="[^"]*(?:error|notice)[^"]*"[^>]*>\s*(?:<p>)?([^<]{3,200})<', page
    )
    title = re.search(r"<title>([^<]*)</title>", page)
    text = "; ".join(e.strip() for e in errors[:3])
    return text or (title.group(1).strip() if title else page[:120])


def find_form(page: str, field_name: str) -> Form | None:
    """The form of ``page`` that has a field called ``field_name``."""
    parser = FormParser()
    parser.feed(page)
    return next((f for f in parser.forms if field_name in f.names), None)


# --------------------------------------------------------------------------
# The load


@dataclass
class Filing:
    """One rendered intake form and what became of it."""

    marker: str
    phase: str
    double: bool = False
    attempts: int = 0
    acked: bool = False
    numbers: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    outcome: str = "pending"


@dataclass
class Completion:
    """One task the agent tried to complete."""

    task_id: str
    number: str
    phase: str
    attempts: int = 0
    acked: bool = False
    outcome: str = "pending"


class Load:
    """The citizens and the agent, and everything they saw."""

    def __init__(self, port: int, tag: str, log: Log) -> None:
        """Nothing runs until start()."""
        self.port = port
        self.tag = tag
        self.log = log
        self.phase = "warm-up"
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.filings: list[Filing] = []
        self.completions: list[Completion] = []
        self.unavailable: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()
        self.key_field: bool | None = None
        self.drop_key = False
        self.threads: list[threading.Thread] = []

    def note(self, what: str, detail: str = "") -> None:
        """Count an event; log its first occurrence with the detail."""
        with self.lock:
            self.notes[what] += 1
            first = self.notes[what] == 1
        if first:
            self.log(self.phase, f"first {what}{': ' + detail if detail else ''}")

    def start(self, filers: int, max_filings: int, max_completions: int) -> None:
        """Start the citizen threads and the agent thread."""
        for n in range(1, filers + 1):
            t = threading.Thread(
                target=self._citizen, args=(n, max_filings), daemon=True
            )
            self.threads.append(t)
        self.threads.append(
            threading.Thread(target=self._agent, args=(max_completions,), daemon=True)
        )
        for t in self.threads:
            t.start()

    def finish(self) -> None:
        """Stop the load and wait (bounded) for the threads."""
        self.stop.set()
        deadline = time.monotonic() + 30
        for t in self.threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))

    def _send(
        self, browser: Browser, path: str, form: dict[str, str], counter: Any
    ) -> Reply | None:
        """POST the same form until it gets a non-5xx answer (bounded).

        Returns None when every attempt failed or the load was stopped while
        waiting to re-send. ``counter`` is the record whose attempts count.
        """
        for attempt in range(len(RETRY_PAUSES_S) + 1):
            if attempt and self.stop.wait(RETRY_PAUSES_S[attempt - 1]):
                return None
            counter.attempts += 1
            try:
                reply = browser.post(path, form)
            except TransportError as exc:
                self.note("network error on a POST", str(exc))
                continue
            if reply.status >= 500:
                self.note(f"HTTP {reply.status} on a POST", path)
                continue
            return reply
        return None

    # Citizens ------------------------------------------------------------

    def _citizen(self, n: int, max_filings: int) -> None:
        """File quejas one after another, each from a fresh browser."""
        for seq in range(1, max_filings + 1):
            if self.stop.is_set():
                return
            try:
                self._file_one(
                    f"{self.tag}-{n}-{seq:04d}",
                    with_email=seq % 2 == 0,
                    double=seq % 10 == 5,
                )
            except Exception as exc:  # noqa: BLE001 - a harness bug must not hang the run
                self.note("harness error (citizen)", repr(exc))
            self.stop.wait(0.05)

    def _file_one(self, marker: str, with_email: bool, double: bool) -> None:
        """Render the intake form, fill it, post it (re-sending on failure).

        The citizen takes a moment to type, so forms rendered just before a
        fault are posted during it. ``double`` posts the same rendered form
        from two connections at once (a double click): it must still make
        one case.
        """
        browser = Browser(self.port)
        try:
            page = browser.get(INTAKE)
        except TransportError as exc:
            page = Reply(0, "", str(exc))
        form = find_form(page.body, "asunto") if page.status == 200 else None
        if form is None:
            with self.lock:
                self.unavailable[self.phase] += 1
            self.note(
                f"intake form unavailable (HTTP {page.status})", error_text(page.body)
            )
            self.stop.wait(0.5)
            return
        if self.key_field is None:
            self.key_field = IDEMPOTENCY_FIELD in form.hidden
            self.log(
                self.phase,
                "intake form carries an idempotency key: "
                + ("yes" if self.key_field else "NO")
                + (" (dropped: --drop-key)" if self.drop_key else ""),
            )
        data = {
            **form.hidden,
            "categoria": random.choice(CATEGORIES),
            "asunto": f"Prueba de fallas {marker}",
            "descripcion": f"Carga de la prueba de fallas, envío {marker}.",
            "ubicacion": "Calle 50, Ciudad de Panamá",
        }
        if with_email:
            data["correo"] = f"fallas.{marker.lower()}@example.pa"
        if self.drop_key:
            data.pop(IDEMPOTENCY_FIELD, None)
        self.stop.wait(random.uniform(0.0, 1.0))
        filing = Filing(marker, self.phase, double=double)
        with self.lock:
            self.filings.append(filing)
        browsers = [browser]
        if double:
            twin = Browser(self.port)
            twin.cookies = dict(browser.cookies)
            browsers.append(twin)
        replies: list[Reply | None] = [None] * len(browsers)

        def post(i: int) -> None:
            """Send the form from browser ``i``."""
            replies[i] = self._send(browsers[i], INTAKE, data, filing)

        threads = [
            threading.Thread(target=post, args=(i,), daemon=True)
            for i in range(1, len(browsers))
        ]
        for t in threads:
            t.start()
        post(0)
        for t in threads:
            # _send is bounded: attempts × (HTTP timeout + pause).
            t.join(timeout=90)
        for b, reply in zip(browsers, replies, strict=True):
            if reply is None:
                continue
            if reply.status == 303 and reply.location_path == CONFIRMATION:
                filing.acked = True
                number = self._receipt_number(b)
                if number:
                    filing.numbers.append(number)
            else:
                status = f"refused HTTP {reply.status}"
                filing.refusals.append(status)
                self.note(status, error_text(reply.body) or reply.location)
        if filing.acked:
            filing.outcome = "acknowledged"
        else:
            filing.outcome = filing.refusals[0] if filing.refusals else "no answer"

    def _receipt_number(self, browser: Browser) -> str | None:
        """The case number the confirmation page shows (None if unreadable)."""
        for pause in (0.0, 0.5, 1.0):
            if pause and self.stop.wait(pause):
                return None
            try:
                page = browser.get(CONFIRMATION)
            except TransportError:
                continue
            if page.status != 200:
                continue
            found = re.search(r'id="numero-caso">\s*([^<\s]+)', page.body)
            found = found or NUMBER.search(page.body)
            if found:
                return found.group(1) if found.lastindex else found.group(0)
            self.note("confirmation page without a number", page.body[:120])
            return None
        self.note("confirmation page unreachable")
        return None

    # The agent -----------------------------------------------------------

    def _agent(self, max_completions: int) -> None:
        """Log in as the demo agent and classify this run's quejas."""
        browser = Browser(self.port)
        logged_in = False
        skip: set[str] = set()
        tried = 0
        while not self.stop.is_set() and tried < max_completions:
            try:
                if not logged_in:
                    logged_in = self._login(browser)
                    if not logged_in:
                        self.stop.wait(1.0)
                    continue
                try:
                    inbox = browser.get("/tareas")
                except TransportError:
                    self.stop.wait(1.0)
                    continue
                if inbox.status in (301, 302, 303):
                    self.note("agent sent back to the login page", inbox.location)
                    logged_in = False
                    continue
                if inbox.status != 200:
                    self.stop.wait(1.0)
                    continue
                picked = self._pick(inbox.body, skip)
                if picked is None:
                    self.stop.wait(0.5)
                    continue
                tried += 1
                self._complete(browser, *picked, skip)
            except Exception as exc:  # noqa: BLE001 - a harness bug must not hang the run
                self.note("harness error (agent)", repr(exc))
                self.stop.wait(1.0)
            self.stop.wait(0.1)

    def _login(self, browser: Browser) -> bool:
        """Log in through the login form; True when it worked."""
        try:
            page = browser.get("/ingresar")
            form = find_form(page.body, "usuario") if page.status == 200 else None
            if form is None:
                return False
            reply = browser.post(
                "/ingresar",
                {**form.hidden, "usuario": AGENT, "clave": AGENT_PASSWORD},
            )
        except TransportError:
            return False
        ok = reply.status in (302, 303) and reply.location_path != "/ingresar"
        if not ok and reply.status < 500:
            self.note(f"agent login refused (HTTP {reply.status})")
        return ok

    def _pick(self, inbox: str, skip: set[str]) -> tuple[str, str] | None:
        """(task id, case number) of a ready task of one of this run's cases."""
        for row in inbox.split("<tr>"):
            if self.tag not in row:
                continue
            number = NUMBER.search(row)
            for task_id in re.findall(r'href="/tareas/([0-9a-f-]{8,})"', row):
                if task_id not in skip and number:
                    return task_id, number.group(0)
        return None

    def _complete(
        self, browser: Browser, task_id: str, number: str, skip: set[str]
    ) -> None:
        """Open the task, accept the queja for its suggested entity, post."""
        path = f"/tareas/{task_id}"
        try:
            page = browser.get(path)
        except TransportError:
            return
        form = find_form(page.body, "decision") if page.status == 200 else None
        if form is None or "aceptar" not in form.options.get("decision", ["aceptar"]):
            if page.status < 500:
                skip.add(task_id)
            return
        entity = form.selected.get("entidad") or next(
            (o for o in form.options.get("entidad", []) if o), ""
        )
        data = {**form.hidden, "decision": "aceptar", "entidad": entity}
        done = Completion(task_id, number, self.phase)
        with self.lock:
            self.completions.append(done)
        reply = self._send(browser, path, data, done)
        skip.add(task_id)
        if reply is None:
            done.outcome = "no answer"
        elif reply.status == 303 and reply.location_path == "/tareas":
            done.acked = True
            done.outcome = "acknowledged"
        else:
            done.outcome = f"refused HTTP {reply.status}"
            self.note(f"completion {done.outcome}", error_text(reply.body))


# --------------------------------------------------------------------------
# The run


@dataclass
class Verdict:
    """What the database holds compared with what the clients were told."""

    attempted: int
    acknowledged: int
    stored: int
    lost: list[str]
    duplicated: list[str]
    wrong_receipts: list[str]
    completions_attempted: int
    completions_acknowledged: int
    completions_lost: list[str]
    stored_unacknowledged: int
    flagged_cases: int
    outbox_pending: int | None
    dead: list[str]


def app_env(db_url: str, public_port: int, mail_port: int) -> dict[str, str]:
    """Environment of every app process: production, with real keys.

    Production (not development) because that is what is being tested: it
    demands SECRET_KEY and IDENTITY_KEY and keeps secure cookies; the test's
    own browser sends cookies back over loopback http regardless.
    """
    env = dict(os.environ)
    env.update(
        {
            "C311_ENV": "production",
            "C311_SECRET_KEY": secrets.token_hex(32),
            "C311_DATABASE_URL": db_url,
            "C311_WORKER_IN_PROCESS": "false",
            "C311_WORKER_INTERVAL_S": "1",
            "C311_PUBLIC_URL": f"http://127.0.0.1:{public_port}",
            "C311_MAIL_SERVER": "127.0.0.1",
            "C311_MAIL_PORT": str(mail_port),
            "C311_DEMO_PASSWORD": AGENT_PASSWORD,
            "PYTHONUNBUFFERED": "1",
        }
    )
    key = subprocess.run(
        [
            sys.executable,
            "-c",
            "from engine.domain.sealing import new_key; print(new_key())",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    env["C311_IDENTITY_KEY"] = key
    return env


def operator(env: dict[str, str], command: str) -> None:
    """Run one ``flask --app webapp`` operator command; raise on failure."""
    done = subprocess.run(
        [str(venv_bin() / "flask"), "--app", "webapp", command],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {command} failed:\n{done.stdout}{done.stderr}")


def wait_healthy(port: int, timeout_s: float) -> int:
    """Poll /healthz until it answers 200; the last status seen (0: none)."""
    deadline = time.monotonic() + timeout_s
    status = 0
    while time.monotonic() < deadline:
        try:
            status = Browser(port).get("/healthz").status
        except TransportError:
            status = 0
        if status == 200:
            return status
        time.sleep(0.5)
    return status


def db_connect(cluster: Cluster, timeout_s: float = 30.0) -> Any:
    """A psycopg connection to the cluster, retried while it starts."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return psycopg.connect(cluster.conninfo, connect_timeout=5, autocommit=True)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def tamper(cluster: Cluster, load: Load, log: Log) -> None:
    """--self-check: give one acknowledged case another's subject.

    The check must then report that filing lost and the other duplicated
    (lost=1 duplicated=1, exit 1): proof that it reads what it claims.
    """
    acked = [f.marker for f in load.filings if f.acked]
    if len(acked) < 2:
        log("self-check", "fewer than two acknowledged filings: nothing tampered")
        return
    keep, spoil = acked[0], acked[-1]
    with db_connect(cluster) as conn:
        conn.execute(
            'UPDATE "case" SET subject = %s WHERE subject LIKE %s',
            (f"Prueba de fallas {keep}", f"%{spoil}"),
        )
    log("self-check", f"{spoil} now carries the subject of {keep}")


def verdict(cluster: Cluster, load: Load, dead: list[str]) -> Verdict:
    """Compare the clients' view with the database's."""
    marker = re.compile(rf"({re.escape(load.tag)}-\d+-\d{{4}})")
    with db_connect(cluster) as conn:
        rows = conn.execute(
            'SELECT subject, number, error IS NOT NULL FROM "case" '
            "WHERE subject LIKE %s",
            (f"%{load.tag}-%",),
        ).fetchall()
        ids = [c.task_id for c in load.completions if c.acked]
        states = dict(
            conn.execute(
                "SELECT id, state FROM human_task WHERE id = ANY(%s)", (ids,)
            ).fetchall()
        )
        columns = {
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'outbox'"
            ).fetchall()
        }
        pending = None
        if columns:
            extra = " AND failed_at IS NULL" if "failed_at" in columns else ""
            pending = conn.execute(
                f"SELECT count(*) FROM outbox WHERE sent_at IS NULL{extra}"
            ).fetchone()[0]
    stored: Counter[str] = Counter()
    numbers: dict[str, set[str]] = {}
    for subject, number, _ in rows:
        found = marker.search(subject)
        if found:
            stored[found.group(1)] += 1
            numbers.setdefault(found.group(1), set()).add(number)
    acked = [f for f in load.filings if f.acked]
    # A receipt must name the case its own form made (a replayed submit must
    # show the first case's number, never another citizen's).
    wrong = [
        f"{f.marker} shown {shown}, stored as {sorted(numbers.get(f.marker, []))}"
        for f in acked
        for shown in f.numbers
        if f.marker in stored and shown not in numbers[f.marker]
    ]
    return Verdict(
        attempted=len(load.filings),
        acknowledged=len(acked),
        stored=len(stored),
        lost=[f.marker for f in acked if f.marker not in stored],
        duplicated=[m for m, n in stored.items() if n > 1],
        wrong_receipts=wrong,
        completions_attempted=len(load.completions),
        completions_acknowledged=len(ids),
        completions_lost=[
            f"{c.number} task {c.task_id} is {states.get(c.task_id, 'missing')}"
            for c in load.completions
            if c.acked and states.get(c.task_id) != "completed"
        ],
        stored_unacknowledged=len(set(stored) - {f.marker for f in acked}),
        flagged_cases=sum(1 for *_, flagged in rows if flagged),
        outbox_pending=pending,
        dead=dead,
    )


def phase_table(load: Load, log: Log) -> None:
    """Per phase: filings attempted, acknowledged, and what failed."""
    order: list[str] = []
    for f in load.filings:
        if f.phase not in order:
            order.append(f.phase)
    for phase in order:
        mine = [f for f in load.filings if f.phase == phase]
        outcomes = Counter(f.outcome for f in mine if not f.acked)
        retried = sum(1 for f in mine if f.attempts > (2 if f.double else 1))
        doubled = sum(1 for f in mine if f.double)
        log(
            "summary",
            f"{phase}: attempted={len(mine)} "
            f"acknowledged={sum(1 for f in mine if f.acked)} retried={retried} "
            f"double_clicks={doubled} "
            f"form_unavailable={load.unavailable.get(phase, 0)}"
            + "".join(f" {k.replace(' ', '_')}={v}" for k, v in outcomes.items()),
        )


def run(args: argparse.Namespace, log: Log, keep: list[bool]) -> int:
    """Set up, load, inject the faults, check; the exit status."""
    base = Path(tempfile.mkdtemp(prefix="c311-faults-"))
    base.chmod(0o755)  # the postgres user must reach its folder inside
    logs = base / "logs"
    logs.mkdir()
    cluster = Cluster(base, free_port())
    sink = MailSink()
    supervisor: Supervisor | None = None
    load: Load | None = None
    db_stopped = False
    try:
        log("setup", f"cluster on 127.0.0.1:{cluster.port}, logs in {logs}")
        cluster.create()
        cluster.start()
        mail = "an aiosmtpd sink" if sink.start() else "a closed port"
        log("setup", f"mail goes to {mail} on 127.0.0.1:{sink.port}")
        web_port = free_port()
        env = app_env(cluster.url, web_port, sink.port)
        for command in ("db-upgrade", "deploy-seed", "seed-demo"):
            operator(env, command)
        log("setup", "migrated and seeded (production config)")
        supervisor = Supervisor(env, logs, log, web_port)
        supervisor.start(args.workers)
        if wait_healthy(web_port, 60) != 200:
            raise RuntimeError(
                f"gunicorn did not answer /healthz: {tail(supervisor.gunicorn_log, 8)}"
            )
        log(
            "setup",
            f"gunicorn on 127.0.0.1:{web_port} (workers "
            f"{supervisor.gunicorn_workers()}), {args.workers} flask worker(s)",
        )

        tag = "F" + secrets.token_hex(3)
        load = Load(web_port, tag, log)
        load.drop_key = args.drop_key
        started = time.monotonic()

        def at(offset: float) -> None:
            """Sleep until ``offset`` seconds after the load started."""
            time.sleep(max(0.0, started + offset - time.monotonic()))

        def phase(name: str, message: str, action: Callable[[], object]) -> None:
            """Enter a phase: log it with the counts so far, then act."""
            assert load is not None
            load.phase = name
            acked = sum(1 for f in load.filings if f.acked)
            log(name, f"{message} (filings so far {len(load.filings)}, acked {acked})")
            result = action()
            if result is not None:
                log(name, f"done: {result}")

        load.start(args.filers, max_filings=400, max_completions=400)
        log("warm-up", f"load started: {args.filers} citizens + the agent, tag {tag}")
        d = args.duration
        at(d * 0.11)
        phase("web-killed", "kill -9 a gunicorn worker", supervisor.kill_web)
        at(d * 0.22)
        phase(
            "worker-killed", "kill -9 flask worker 1", lambda: supervisor.kill_worker(1)
        )
        at(d * 0.33)
        phase("db-down", "pg_ctl stop -m fast", cluster.stop)
        db_stopped = True
        back_at = time.monotonic() + DB_DOWN_S
        time.sleep(DB_DOWN_S / 2)
        log("db-down", f"kill -9 a gunicorn worker: pid {supervisor.kill_web()}")
        time.sleep(max(0.0, back_at - time.monotonic()))
        phase("db-back", f"pg_ctl start after {DB_DOWN_S:.0f} s", cluster.start)
        db_stopped = False
        at(max(d * 0.8, time.monotonic() - started + 3))
        phase(
            "worker-killed-2",
            f"kill -9 flask worker {min(2, args.workers)}",
            lambda: supervisor.kill_worker(2),
        )
        at(d)
        load.phase = "stopping"
        load.finish()
        log("stopping", f"load stopped; {GRACE_S:.0f} s for the workers to catch up")
        time.sleep(GRACE_S)

        health = wait_healthy(web_port, 10)
        supervisor.stop_watching()
        # The last look of stop_watching() counted every process that exited
        # on its own; what is left to check is that the web side serves.
        dead = list(supervisor.dead)
        if health != 200:
            dead.append(f"/healthz answered {health or 'nothing'} at the end")
        master = supervisor.gunicorn
        web = supervisor.gunicorn_workers()
        if master and master.poll() is None and len(web) != GUNICORN_WORKERS:
            dead.append(f"gunicorn runs {len(web)} workers at the end")
        timeouts = re.findall(r"WORKER TIMEOUT \(pid:(\d+)\)", _read(logs, "gunicorn"))
        if timeouts:
            log("summary", f"gunicorn worker timeouts: {', '.join(timeouts)}")

        if args.self_check:
            tamper(cluster, load, log)
        v = verdict(cluster, load, dead)
        phase_table(load, log)
        for what, count in sorted(load.notes.items()):
            log("summary", f"{count} × {what}")
        log(
            "summary",
            f"stored but never acknowledged={v.stored_unacknowledged} "
            f"flagged cases={v.flagged_cases} outbox still pending={v.outbox_pending} "
            f"mail received by the sink={sink.received}",
        )
        for title, items in (
            ("LOST", v.lost),
            ("DUPLICATED", v.duplicated),
            ("WRONG RECEIPT", v.wrong_receipts),
            ("LOST COMPLETION", v.completions_lost),
            ("DEAD WORKER", v.dead),
        ):
            for item in items[:10]:
                log("summary", f"{title}: {item}")
            if len(items) > 10:
                log("summary", f"{title}: … and {len(items) - 10} more")
        print(
            f"attempted={v.attempted} acknowledged={v.acknowledged} "
            f"stored={v.stored} lost={len(v.lost)} "
            f"duplicated={len(v.duplicated)} dead_workers={len(v.dead)}"
        )
        print(
            f"completions_attempted={v.completions_attempted} "
            f"completions_acknowledged={v.completions_acknowledged} "
            f"completions_lost={len(v.completions_lost)} "
            f"wrong_receipts={len(v.wrong_receipts)}",
            flush=True,
        )
        failed = bool(
            v.lost or v.duplicated or v.dead or v.wrong_receipts or v.completions_lost
        )
        if v.acknowledged == 0:
            log("summary", "nothing was acknowledged: the load did not run")
            failed = True
        print("FAIL" if failed else "PASS", flush=True)
        keep[0] = failed or args.keep_logs
        return 1 if failed else 0
    finally:
        # Ctrl-C during the cleanup would leave a cluster behind: ignore it.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if load is not None:
            load.stop.set()
        if supervisor is not None:
            supervisor.stop_watching()
            supervisor.shutdown()
        if db_stopped:
            log("cleanup", "the database was still stopped")
        sink.stop()
        if cluster.logfile.exists():
            with contextlib.suppress(OSError):
                shutil.copy(cluster.logfile, logs / "postgres.log")
        cluster.destroy()
        if keep[0]:
            log("cleanup", f"processes stopped, cluster removed; logs kept in {logs}")
            shutil.rmtree(base / "pg", ignore_errors=True)
        else:
            shutil.rmtree(base, ignore_errors=True)
            log("cleanup", "processes stopped, cluster and logs removed")


def _read(folder: Path, prefix: str) -> str:
    """All log files of ``folder`` starting with ``prefix``, concatenated."""
    return "".join(
        p.read_text(errors="replace") for p in sorted(folder.glob(f"{prefix}*.log"))
    )


def main() -> int:
    """Parse options, run, and turn Ctrl-C / SIGTERM into a clean exit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=54.0, help="load seconds")
    parser.add_argument("--filers", type=int, default=6, help="citizen threads")
    parser.add_argument("--workers", type=int, default=2, help="flask workers")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs")
    parser.add_argument(
        "--drop-key",
        action="store_true",
        help="post without the idempotency field (retries may then duplicate)",
    )
    parser.add_argument(
        "--self-check",
        action="store_true",
        help="tamper with one stored case first: must report lost=1 duplicated=1",
    )
    args = parser.parse_args()
    if args.duration < 30 or args.filers < 1 or args.workers < 1:
        parser.error("--duration ≥ 30 (the database stop takes 20 s), ≥ 1 filer/worker")

    def terminate(signum: int, frame: Any) -> None:
        """SIGTERM behaves like Ctrl-C: unwind through the cleanup."""
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    log = Log()
    # Interrupted or crashed runs keep their logs; a clean pass removes them.
    keep = [True]
    try:
        return run(args, log, keep)
    except KeyboardInterrupt:
        log("interrupted", "cleaned up")
        return 130
    except Exception as exc:  # noqa: BLE001 - report the harness failure plainly
        log("error", f"{exc.__class__.__name__}: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
