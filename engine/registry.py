"""Process bundles: read, validate, parse, and cache parsed specs.

A bundle is one case type's ``.bpmn`` and ``.dmn`` files plus its form
``.json`` files, keyed by file name. Deployed bundles live in the database
(``process_version``); parsed specs are cached in memory by content hash, so
every web process and worker parses a version once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine import forms
from engine.errors import N_, BundleInvalid, Message, Problem
from engine.forms import Schema
from engine.scripting import check_script

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

#: Roles that may own a lane (a lane's name must be one of these keys).
LANE_ROLES = ("agente_311", "supervisor_311", "enlace", "ciudadano")

#: Largest single file accepted in a bundle, in bytes.
MAX_FILE_BYTES = 2 * 1024 * 1024


def safe_xml_parser() -> etree.XMLParser:
    """An lxml parser that resolves no entities and touches no network (XXE)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


@dataclass(frozen=True)
class TaskInfo:
    """What the app needs to know about one BPMN task or event."""

    bpmn_id: str
    name: str
    lane: str | None
    form: str | None
    instructions: str
    estado: str | None
    manual: bool
    props: dict[str, str] = field(default_factory=dict)

    @property
    def marks(self) -> tuple[str, ...]:
        """The engine reactions named by the ``marca`` property."""
        raw = self.props.get("marca", "")
        return tuple(m.strip() for m in raw.split(",") if m.strip())


@dataclass
class ParsedVersion:
    """A parsed bundle, ready to start and restore workflows."""

    content_hash: str
    case_type: str
    title: str
    spec: Any
    subprocess_specs: dict[str, Any]
    forms: dict[str, Schema]
    start_form: str | None
    tasks: dict[str, TaskInfo] = field(default_factory=dict)

    def form(self, name: str | None) -> Schema:
        """The schema of a form file of this bundle (empty form when none)."""
        if name is None:
            return {"type": "object", "properties": {}}
        return self.forms[name]


def content_hash(files: dict[str, str]) -> str:
    """A stable hash of a bundle's files (names and contents)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(files[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()


def read_bundle_dir(*folders: Path) -> dict[str, str]:
    """Read the bundle files (``.bpmn``, ``.dmn``, ``.json``) of some folders."""
    files: dict[str, str] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in (".bpmn", ".dmn", ".json") and path.is_file():
                files[path.name] = path.read_text(encoding="utf-8")
    return files


def seed_bundles(bpmn_root: Path, forms_root: Path) -> dict[str, dict[str, str]]:
    """The seed bundles: ``bpmn/<key>/`` + ``forms/<key>/`` for every key.

    Decision tables in ``bpmn/shared/`` (routing, deadlines) are added to
    every bundle unless the case type has its own file of the same name.
    """
    bundles: dict[str, dict[str, str]] = {}
    if not bpmn_root.is_dir():
        return bundles
    shared = {
        name: text
        for name, text in read_bundle_dir(bpmn_root / "shared").items()
        if name.endswith(".dmn")
    }
    for folder in sorted(bpmn_root.iterdir()):
        if folder.is_dir() and folder.name != "shared":
            files = read_bundle_dir(folder, forms_root / folder.name)
            if any(name.endswith(".bpmn") for name in files):
                bundles[folder.name] = {**shared, **files}
    return bundles


def _problem(
    file: str, element: str | None, text: str, severity: str = "error", **params: Any
) -> Problem:
    """Build a :class:`Problem` with a translatable message."""
    return Problem(file, element, Message(text, params), severity)


def parse_bundle(files: dict[str, str]) -> ParsedVersion:
    """Validate and parse a bundle; raise :class:`BundleInvalid` listing problems.

    Every check runs so the designer sees every problem at once.
    """
    problems: list[Problem] = []
    trees: dict[str, Any] = {}
    schemas: dict[str, Schema] = {}
    for name, text in sorted(files.items()):
        if len(text.encode()) > MAX_FILE_BYTES:
            problems.append(_problem(name, None, N_("El archivo es demasiado grande.")))
            continue
        if name.endswith((".bpmn", ".dmn")):
            try:
                trees[name] = etree.fromstring(text.encode(), safe_xml_parser())
            except etree.XMLSyntaxError as exc:
                problems.append(
                    _problem(
                        name,
                        None,
                        N_("El XML no está bien formado: %(detail)s"),
                        detail=str(exc),
                    )
                )
        elif name.endswith(".json"):
            try:
                schema = json.loads(text)
            except json.JSONDecodeError as exc:
                problems.append(
                    _problem(
                        name,
                        None,
                        N_("El JSON no es válido: %(detail)s"),
                        detail=str(exc),
                    )
                )
                continue
            for detail in forms.check_schema(schema):
                problems.append(
                    _problem(
                        name,
                        None,
                        N_("El formulario no es un JSON Schema válido: %(detail)s"),
                        detail=detail,
                    )
                )
            schemas[name] = schema
        else:
            problems.append(
                _problem(name, None, N_("Tipo de archivo no admitido en un paquete."))
            )
    bpmn_names = [n for n in trees if n.endswith(".bpmn")]
    if not bpmn_names and not any(p.file.endswith(".bpmn") for p in problems):
        problems.append(
            _problem("", None, N_("El paquete no contiene ningún diagrama .bpmn."))
        )
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name, tree in trees.items():
        try:
            if name.endswith(".bpmn"):
                parser.add_bpmn_xml(etree.ElementTree(tree), filename=name)
            else:
                parser.add_dmn_xml(tree, filename=name)
        except ValidationException as exc:
            problems.append(_from_validation(name, exc))
        except (SpiffWorkflowException, etree.LxmlError) as exc:
            problems.append(
                _problem(
                    name, None, N_("Error al leer el diagrama: %(detail)s"), detail=exc
                )
            )
    for name in bpmn_names:
        problems.extend(_check_scripts(name, trees[name]))
    # Form and script problems do not stop the diagram checks below, so the
    # designer sees everything at once; an unreadable diagram does.
    if not bpmn_names or any(p.file.endswith((".bpmn", ".dmn")) for p in problems):
        raise BundleInvalid(problems)

    process_ids = parser.get_process_ids()
    if len(process_ids) != 1:
        raise BundleInvalid(
            problems
            + [
                _problem(
                    bpmn_names[0],
                    None,
                    N_(
                        "El paquete debe tener exactamente un proceso ejecutable; "
                        "tiene %(count)s."
                    ),
                    count=len(process_ids),
                )
            ]
        )
    case_type = process_ids[0]
    try:
        spec = parser.get_spec(case_type)
        subprocess_specs = parser.get_subprocess_specs(case_type)
    except ValidationException as exc:
        problems.append(_from_validation(exc.file_name or "", exc))
        raise BundleInvalid(problems) from exc
    except SpiffWorkflowException as exc:
        detail = N_("Error al leer el diagrama: %(detail)s")
        problems.append(_problem("", None, detail, detail=exc))
        raise BundleInvalid(problems) from exc

    tasks = _task_infos(spec, subprocess_specs)
    problems.extend(_check_tasks(spec, tasks, schemas, bpmn_names[0]))
    start_form = _start_form(spec)
    if start_form is None:
        problems.append(
            _problem(
                spec.file or bpmn_names[0],
                None,
                N_(
                    "El evento de inicio no indica su formulario "
                    "(propiedad formJsonSchemaFilename)."
                ),
            )
        )
    if [p for p in problems if p.severity == "error"]:
        raise BundleInvalid(problems)
    return ParsedVersion(
        content_hash=content_hash(files),
        case_type=case_type,
        title=spec.description or case_type,
        spec=spec,
        subprocess_specs=subprocess_specs,
        forms=schemas,
        start_form=start_form,
        tasks=tasks,
    )


def _from_validation(name: str, exc: ValidationException) -> Problem:
    """A problem from one of SpiffWorkflow's validation errors."""
    detail = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return _problem(
        exc.file_name or name,
        getattr(exc, "id", None) or None,
        N_("El diagrama no es válido: %(detail)s"),
        detail=detail,
    )


def _check_scripts(name: str, tree: Any) -> list[Problem]:
    """Scripts and conditions must compile under the restricted environment."""
    problems: list[Problem] = []
    checks = (
        ("//bpmn:scriptTask/bpmn:script", "exec"),
        ("//bpmn:conditionExpression", "eval"),
        ("//spiffworkflow:preScript", "exec"),
        ("//spiffworkflow:postScript", "exec"),
    )
    for xpath, mode in checks:
        for node in tree.xpath(xpath, namespaces=NSMAP):
            source = (node.text or "").strip()
            if not source:
                continue
            owner = node.getparent()
            while owner is not None and owner.get("id") is None:
                owner = owner.getparent()
            element = owner.get("id") if owner is not None else None
            for detail in check_script(source, mode):
                problems.append(
                    _problem(
                        name,
                        element,
                        N_(
                            "El script o condición no es seguro o no compila: "
                            "%(detail)s"
                        ),
                        detail=detail,
                    )
                )
    return problems


def _properties(task_spec: Any) -> dict[str, str]:
    """The ``spiffworkflow:properties`` of a task spec."""
    ext = getattr(task_spec, "extensions", None) or {}
    props = ext.get("properties") or {}
    return dict(props)


def _task_infos(spec: Any, subprocess_specs: dict[str, Any]) -> dict[str, TaskInfo]:
    """Collect name, lane, form, instructions and status of every BPMN element."""
    infos: dict[str, TaskInfo] = {}
    for process in [spec, *subprocess_specs.values()]:
        for task_spec in process.task_specs.values():
            bpmn_id = getattr(task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            props = _properties(task_spec)
            ext = getattr(task_spec, "extensions", None) or {}
            infos[bpmn_id] = TaskInfo(
                bpmn_id=bpmn_id,
                name=getattr(task_spec, "bpmn_name", None) or bpmn_id,
                lane=getattr(task_spec, "lane", None),
                form=props.get("formJsonSchemaFilename"),
                instructions=ext.get("instructionsForEndUser") or "",
                estado=props.get("estado"),
                manual=bool(getattr(task_spec, "manual", False)),
                props=props,
            )
    return infos


def _check_tasks(
    spec: Any, tasks: dict[str, TaskInfo], schemas: dict[str, Any], file: str
) -> list[Problem]:
    """Lanes must be roles; user tasks need an existing form."""
    problems: list[Problem] = []
    for info in tasks.values():
        if info.lane is not None and info.lane not in LANE_ROLES:
            problems.append(
                _problem(
                    file,
                    info.bpmn_id,
                    N_("El carril «%(lane)s» no es un rol (use uno de: %(roles)s)."),
                    lane=info.lane,
                    roles=", ".join(LANE_ROLES),
                )
            )
        if info.manual:
            if info.lane is None:
                problems.append(
                    _problem(
                        file,
                        info.bpmn_id,
                        N_("La tarea de usuario no está en ningún carril (rol)."),
                    )
                )
            if not info.form:
                problems.append(
                    _problem(
                        file,
                        info.bpmn_id,
                        N_("La tarea de usuario no indica su formulario."),
                    )
                )
        if info.form and info.form not in schemas:
            problems.append(
                _problem(
                    file,
                    info.bpmn_id,
                    N_("Falta el archivo de formulario «%(form)s»."),
                    form=info.form,
                )
            )
    return problems


def _start_form(spec: Any) -> str | None:
    """The intake form named by the process's start event."""
    for task_spec in spec.task_specs.values():
        if task_spec.__class__.__name__ == "StartEvent":
            form = _properties(task_spec).get("formJsonSchemaFilename")
            if form:
                return form
    return None


class SpecCache:
    """Parsed versions by content hash, shared by every request of a process."""

    def __init__(self, maxsize: int = 128) -> None:
        """An LRU of at most ``maxsize`` parsed versions."""
        self.maxsize = maxsize
        self._items: OrderedDict[str, ParsedVersion] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, load_files: Callable[[], dict[str, str]]) -> ParsedVersion:
        """The parsed version with content hash ``key``, parsing it on a miss."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        parsed = parse_bundle(load_files())
        self.put(parsed)
        return parsed

    def put(self, parsed: ParsedVersion) -> None:
        """Cache a version parsed elsewhere (e.g. right after a deploy)."""
        with self._lock:
            self._items[parsed.content_hash] = parsed
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        """How many versions are cached."""
        return len(self._items)
