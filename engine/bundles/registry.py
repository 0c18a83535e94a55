"""Process bundles: read, validate, parse, and cache parsed specs.

A bundle is one case type's ``.bpmn`` and ``.dmn`` files plus its form
``.json`` files, keyed by file name. Deployed bundles live in the database
(``process_version``); parsed specs are cached in memory by content hash, so
every web process and worker parses a version once.

Uploaded zips and files are read safely by :mod:`engine.bundles`; what changed
between versions, and moving running cases to a new one, is
:mod:`engine.workflow.migration`.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.bundles import forms
from engine.bundles.forms import Schema
from engine.domain.errors import N_, BundleInvalid, Message, Problem
from engine.workflow.scripting import check_script

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

#: Roles that may own a lane (a lane's name must be one of these keys).
LANE_ROLES = ("agente_311", "supervisor_311", "enlace", "ciudadano")

#: Largest single file accepted in a bundle, in bytes.
MAX_FILE_BYTES = 2 * 1024 * 1024

#: The folder of ``bpmn/`` holding decision tables any case type may call.
SHARED_FOLDER = "shared"


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
    #: Problems of severity "warning" found while validating (deploy anyway).
    warnings: list[Problem] = field(default_factory=list)
    #: The bundle's files as deployed (name -> text), for change summaries.
    files: dict[str, str] = field(default_factory=dict, repr=False)

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
    """The seed bundles: every ``bpmn/<key>/`` read by :func:`bundle_from_path`.

    So a seed and ``flask deploy bpmn/<key>`` deploy the same files: the
    folder, its ``forms/<key>/`` and the shared decision tables it calls.
    """
    bundles: dict[str, dict[str, str]] = {}
    if not bpmn_root.is_dir():
        return bundles
    for folder in sorted(bpmn_root.iterdir()):
        if folder.is_dir() and folder.name != SHARED_FOLDER:
            files = bundle_from_path(folder, bpmn_root=bpmn_root, forms_root=forms_root)
            if any(name.endswith(".bpmn") for name in files):
                bundles[folder.name] = files
    return bundles


def bundle_from_path(
    path: Path | str,
    *,
    bpmn_root: Path | str | None = None,
    forms_root: Path | str | None = None,
) -> dict[str, str]:
    """A bundle's files from a folder or a ``.zip``, completed from the roots.

    The one reader behind the command line and the seed. A ``.zip`` is read
    as hostile, like an upload (:func:`engine.bundles.read_zip`); a folder
    gives its ``.bpmn``, ``.dmn`` and ``.json`` files. Then, never replacing
    a file the bundle has:

    - the forms in ``forms_root/<key>/`` are added, for the folder's name and
      every process id of the bundle's diagrams (the case type key), so
      ``bpmn/queja`` brings ``forms/queja``;
    - each ``bpmn_root/shared/*.dmn`` is added when a business rule task of
      the bundle calls one of its decisions and no file of the bundle defines
      that decision.

    Nothing is validated here (:func:`parse_bundle` does that). A path that is
    neither a folder nor a ``.zip`` raises :class:`BundleInvalid`.
    """
    # Imported here: the upload reader takes its size limits from this module.
    from engine.bundles.uploads import read_zip

    source = Path(path)
    if source.is_file() and source.suffix.lower() == ".zip":
        files = read_zip(source.read_bytes(), source.name)
        keys: set[str] = set()
    elif source.is_dir():
        files = read_bundle_dir(source)
        keys = {source.name}
    else:
        raise BundleInvalid(
            [
                _problem(
                    source.name,
                    None,
                    N_("«%(path)s» no es una carpeta ni un archivo .zip."),
                    path=str(path),
                )
            ]
        )
    diagrams = [_tree_or_none(text) for n, text in files.items() if n.endswith(".bpmn")]
    trees = [tree for tree in diagrams if tree is not None]
    if forms_root is not None:
        for tree in trees:
            keys.update(
                str(process.get("id"))
                for process in tree.xpath("//bpmn:process", namespaces=NSMAP)
                if process.get("id")
            )
        for key in sorted(keys):
            for name, text in read_bundle_dir(Path(forms_root) / key).items():
                files.setdefault(name, text)
    if bpmn_root is not None:
        files.update(_shared_tables(files, trees, Path(bpmn_root) / SHARED_FOLDER))
    return files


def _tree_or_none(text: str) -> Any:
    """The parsed XML of a file, or None when it does not parse (reported later)."""
    try:
        return etree.fromstring(text.encode("utf-8"), safe_xml_parser())
    except etree.XMLSyntaxError:
        return None


def _decision_ids(tree: Any) -> set[str]:
    """The decisions a DMN tree defines."""
    return {
        str(decision.get("id"))
        for decision in tree.xpath("//*[local-name()='decision']")
        if decision.get("id")
    }


def _shared_tables(
    files: dict[str, str], bpmn_trees: list[Any], shared: Path
) -> dict[str, str]:
    """The shared ``.dmn`` files the diagrams call and the bundle lacks."""
    called = {
        (ref.text or "").strip()
        for tree in bpmn_trees
        for ref in tree.xpath(
            "//bpmn:businessRuleTask/bpmn:extensionElements"
            "/spiffworkflow:calledDecisionId",
            namespaces=NSMAP,
        )
    }
    defined: set[str] = set()
    for name, text in files.items():
        tree = _tree_or_none(text) if name.endswith(".dmn") else None
        if tree is not None:
            defined |= _decision_ids(tree)
    wanted = called - defined
    added: dict[str, str] = {}
    for name, text in read_bundle_dir(shared).items():
        if not name.endswith(".dmn") or name in files:
            continue
        tree = _tree_or_none(text)
        if tree is not None and _decision_ids(tree) & wanted:
            added[name] = text
    return added


def _problem(
    file: str, element: str | None, text: str, severity: str = "error", **params: Any
) -> Problem:
    """Build a :class:`Problem` with a translatable message."""
    return Problem(file, element, Message(text, params), severity)


def parse_bundle(files: dict[str, str]) -> ParsedVersion:
    """Validate and parse a bundle; raise :class:`BundleInvalid` listing problems.

    Every check runs so the designer sees every problem at once: file-level
    checks (XML, JSON, form schemas), then SpiffWorkflow's schema validation,
    then checks on the XML (scripts, timers, references, decision tables,
    reachability), then -- when the diagram could be read -- the checks on the
    parsed spec (lanes, forms). Problems of severity ``"warning"`` do not stop
    a deploy: they come back in :attr:`ParsedVersion.warnings` (and along with
    the errors in :class:`BundleInvalid`).
    """
    problems: list[Problem] = []
    trees, schemas, unreadable = _read_files(files, problems)
    bpmn_names = sorted(n for n in trees if n.endswith(".bpmn"))
    dmn_names = sorted(n for n in trees if n.endswith(".dmn"))
    # A fatal problem keeps SpiffWorkflow from building the spec (or would make
    # it fail with a confusing message): the checks on the XML still run, the
    # checks on the parsed spec do not.
    fatal = bool(unreadable)
    if not bpmn_names and not any(n.endswith(".bpmn") for n in unreadable):
        problems.append(
            _problem("", None, N_("El paquete no contiene ningún diagrama .bpmn."))
        )
        fatal = True
    parser = SpiffBpmnParser(validator=VALIDATOR)
    for name in bpmn_names + dmn_names:
        tree = trees[name]
        try:
            if name.endswith(".bpmn"):
                parser.add_bpmn_xml(etree.ElementTree(tree), filename=name)
            else:
                parser.add_dmn_xml(tree, filename=name)
        except ValidationException as exc:
            problems.append(_from_validation(name, exc, tree))
            fatal = True
        except (SpiffWorkflowException, etree.LxmlError) as exc:
            problems.append(
                _problem(
                    name, None, N_("Error al leer el diagrama: %(detail)s"), detail=exc
                )
            )
            fatal = True
    for name in bpmn_names:
        problems.extend(_check_lanes(name, trees[name]))
        problems.extend(_check_scripts(name, trees[name]))
        problems.extend(_check_timers(name, trees[name]))
        dangling = _check_references(name, trees[name])
        problems.extend(dangling)
        fatal = fatal or bool(dangling)
        if not dangling:
            problems.extend(_check_reachable(name, trees[name]))
    for name in dmn_names:
        problems.extend(_check_decision_tables(name, trees[name]))
    if not any(n.endswith(".dmn") for n in unreadable):
        missing = _check_called_elements(
            {n: trees[n] for n in bpmn_names}, {n: trees[n] for n in dmn_names}
        )
        problems.extend(missing)
        fatal = fatal or bool(missing)
    if fatal:
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
        name = exc.file_name or ""
        problems.append(_from_validation(name, exc, trees.get(name)))
        raise BundleInvalid(problems) from exc
    except SpiffWorkflowException as exc:
        detail = N_("Error al leer el diagrama: %(detail)s")
        problems.append(_problem("", None, detail, detail=exc))
        raise BundleInvalid(problems) from exc

    tasks = _task_infos(spec, subprocess_specs)
    problems.extend(_check_tasks(spec, tasks, schemas, bpmn_names[0], files))
    start_form = _start_form(spec)
    if start_form is None:
        starts = _start_events(spec)
        problems.append(
            _problem(
                spec.file or bpmn_names[0],
                starts[0] if starts else None,
                N_(
                    "El evento de inicio no indica su formulario "
                    "(propiedad formJsonSchemaFilename)."
                ),
            )
        )
    if any(p.severity == "error" for p in problems):
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
        warnings=[p for p in problems if p.severity == "warning"],
        files=dict(files),
    )


def _read_files(
    files: dict[str, str], problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, Schema], list[str]]:
    """Parse every file: XML trees, form schemas, and the unreadable diagrams.

    Problems found are appended to ``problems``; the names of ``.bpmn`` and
    ``.dmn`` files that could not be read are returned so the caller knows the
    diagram is incomplete.
    """
    trees: dict[str, Any] = {}
    schemas: dict[str, Schema] = {}
    unreadable: list[str] = []
    for name, text in sorted(files.items()):
        is_xml = name.endswith((".bpmn", ".dmn"))
        if len(text.encode()) > MAX_FILE_BYTES:
            problems.append(_problem(name, None, N_("El archivo es demasiado grande.")))
            if is_xml:
                unreadable.append(name)
            continue
        if is_xml:
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
                unreadable.append(name)
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
            if isinstance(schema, dict):
                for field in forms.contact_like_fields(schema):
                    problems.append(
                        _problem(
                            name,
                            field,
                            N_(
                                "El campo «%(field)s» parece un dato de contacto "
                                "pero no es personal: su valor quedará a la vista "
                                "de todo el personal del caso. Márquelo con "
                                '"x-personal": true (o use "format": "email" o '
                                '"phone"), o con "x-personal": false si es a '
                                "propósito."
                            ),
                            "warning",
                            field=field,
                        )
                    )
            schemas[name] = schema
        else:
            problems.append(
                _problem(name, None, N_("Tipo de archivo no admitido en un paquete."))
            )
    return trees, schemas, unreadable


_NS_PREFIXES = {f"{{{uri}}}": f"{prefix}:" for prefix, uri in NSMAP.items()}


def _from_validation(name: str, exc: ValidationException, tree: Any = None) -> Problem:
    """A problem from one of SpiffWorkflow's validation errors.

    Schema errors carry a line number but no element: the element is looked up
    by line in ``tree``, and the line goes into the sentence when none has an
    id. Namespace URIs in the detail are shortened to their usual prefixes.
    """
    detail = str(exc).splitlines()[0].strip() if str(exc) else ""
    detail = detail or exc.__class__.__name__
    for uri, prefix in _NS_PREFIXES.items():
        detail = detail.replace(uri, prefix)
    detail = detail.rstrip(". ") or exc.__class__.__name__
    element = getattr(exc, "id", None) or None
    line = getattr(exc, "line_number", None)
    if element is None and isinstance(line, int) and tree is not None:
        element = _element_at_line(tree, line)
    if element is None and isinstance(line, int) and line > 0:
        return _problem(
            exc.file_name or name,
            None,
            N_("El diagrama no es válido (línea %(line)s): %(detail)s"),
            line=line,
            detail=detail,
        )
    return _problem(
        exc.file_name or name,
        element,
        N_("El diagrama no es válido: %(detail)s"),
        detail=detail,
    )


def _element_at_line(tree: Any, line: int) -> str | None:
    """The id of the element on ``line`` of the file (or of its nearest owner)."""
    for node in tree.iter():
        if getattr(node, "sourceline", None) == line and isinstance(node.tag, str):
            return _owner_id(node)
    return None


def _owner_id(node: Any) -> str | None:
    """The id of ``node`` or of its nearest ancestor that has one."""
    while node is not None and node.get("id") is None:
        node = node.getparent()
    return node.get("id") if node is not None else None


def _check_lanes(name: str, tree: Any) -> list[Problem]:
    """Every lane is named after a role (the role that may do its tasks).

    A lane split into child lanes only groups them: its own name is free.
    """
    problems: list[Problem] = []
    for lane in tree.xpath("//bpmn:lane", namespaces=NSMAP):
        if lane.xpath("bpmn:childLaneSet/bpmn:lane", namespaces=NSMAP):
            continue
        role = (lane.get("name") or "").strip()
        if role not in LANE_ROLES:
            problems.append(
                _problem(
                    name,
                    lane.get("id"),
                    N_("El carril «%(lane)s» no es un rol (use uno de: %(roles)s)."),
                    lane=role,
                    roles=", ".join(LANE_ROLES),
                )
            )
    return problems


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
            element = _owner_id(node.getparent())
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


# --- Timers -----------------------------------------------------------------

#: Looks like an ISO 8601 date, duration or cycle (checked further by parsing).
_ISO_LIKE = re.compile(
    r"R\d*/.+|P[0-9TWYMDHS.,]*\d[0-9TWYMDHS.,]*|\d{4}-?(\d{2}|W\d{2}).*",
    re.IGNORECASE,
)

_TIMER_EXAMPLES = {
    "timeDate": '"2026-11-04T23:59:59-05:00"',
    "timeDuration": '"P2D"',
    "timeCycle": '"R3/PT1H"',
}


def _iso_timer_value(kind: str, text: str) -> bool:
    """Whether ``text`` is a valid ISO 8601 value for a timer of ``kind``.

    Uses SpiffWorkflow's own parsing helpers, so what passes here is what the
    timer will accept at run time: a date and time (or week date) for
    ``timeDate``, a duration for ``timeDuration``, a repeating interval for
    ``timeCycle``.
    """
    try:
        if kind == "timeDate":
            value = TimerEventDefinition.parse_time_or_duration(text)
            return isinstance(value, datetime)
        if kind == "timeDuration":
            parsed = TimerEventDefinition.parse_iso_duration(text)
            return text.upper().startswith("P") and bool(parsed)
        TimerEventDefinition.parse_iso_recurring_interval(text)
        return text.upper().startswith("R")
    except Exception:  # the helpers raise bare Exception
        return False


def _looks_like_iso(text: str) -> bool:
    """Whether an unquoted expression is really an ISO 8601 literal."""
    if not _ISO_LIKE.fullmatch(text):
        return False
    return any(_iso_timer_value(kind, text) for kind in _TIMER_EXAMPLES)


def _string_literal(source: str) -> str | None:
    """The value of ``source`` when it is a single string literal."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return None
    body = tree.body
    if isinstance(body, ast.Constant) and isinstance(body.value, str):
        return body.value
    return None


def _check_timers(name: str, tree: Any) -> list[Problem]:
    """Timer expressions: a quoted ISO 8601 literal or a safe expression.

    Timers are Python expressions evaluated when the timer starts. A bare
    ``P2D`` is a variable name to Python and fails only then, so an unquoted
    ISO value is an error telling the designer to quote it.
    """
    problems: list[Problem] = []
    xpath = (
        "//bpmn:timerEventDefinition/*"
        "[self::bpmn:timeDate or self::bpmn:timeDuration or self::bpmn:timeCycle]"
    )
    for node in tree.xpath(xpath, namespaces=NSMAP):
        kind = etree.QName(node).localname
        definition = node.getparent()
        element = _owner_id(definition.getparent()) or _owner_id(definition)
        example = _TIMER_EXAMPLES[kind]
        source = (node.text or "").strip()
        if not source:
            problems.append(
                _problem(
                    name,
                    element,
                    N_(
                        "El temporizador no tiene expresión en %(kind)s: escriba "
                        "un valor ISO 8601 entre comillas, como %(example)s, o "
                        "una expresión que lo calcule."
                    ),
                    kind=kind,
                    example=example,
                )
            )
            continue
        literal = _string_literal(source)
        if literal is not None:
            if not _iso_timer_value(kind, literal.strip()):
                problems.append(
                    _problem(
                        name,
                        element,
                        N_(
                            "El valor %(value)s del temporizador no es válido "
                            "para %(kind)s: use un valor ISO 8601 como "
                            "%(example)s."
                        ),
                        value=source,
                        kind=kind,
                        example=example,
                    )
                )
            continue
        if _looks_like_iso(source):
            problems.append(
                _problem(
                    name,
                    element,
                    N_(
                        "El temporizador usa %(value)s sin comillas: la expresión "
                        "es código Python y fallaría al ejecutarse. Escríbala "
                        'entre comillas: "%(value)s".'
                    ),
                    value=source,
                )
            )
            continue
        for detail in check_script(source, "eval"):
            problems.append(
                _problem(
                    name,
                    element,
                    N_(
                        "La expresión del temporizador no es segura o no "
                        "compila: %(detail)s"
                    ),
                    detail=detail,
                )
            )
    return problems


# --- References, decision tables and reachability ---------------------------

#: Local names of the BPMN flow nodes (what sequence flows connect).
_FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)

_SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})


def _local(node: Any) -> str:
    """The local name of an element (no namespace)."""
    return str(etree.QName(node).localname) if isinstance(node.tag, str) else ""


def _is_bpmn(node: Any) -> bool:
    """Whether ``node`` is an element of the BPMN model namespace."""
    return isinstance(node.tag, str) and etree.QName(node).namespace == BPMN_NS


def _containers(tree: Any) -> list[Any]:
    """Every process and (nested) subprocess element of a diagram."""
    found: list[Any] = []
    for node in tree.iter(f"{{{BPMN_NS}}}*"):
        if _local(node) == "process" or _local(node) in _SUBPROCESSES:
            found.append(node)
    return found


def _flow_nodes(container: Any) -> dict[str, Any]:
    """The flow nodes directly inside a process or subprocess, by id."""
    return {
        node.get("id"): node
        for node in container
        if _is_bpmn(node) and _local(node) in _FLOW_NODES and node.get("id")
    }


def _sequence_flows(container: Any) -> list[Any]:
    """The sequence flows directly inside a process or subprocess."""
    return [n for n in container if _is_bpmn(n) and _local(n) == "sequenceFlow"]


def _check_references(name: str, tree: Any) -> list[Problem]:
    """Sequence flows and boundary events must point at existing elements.

    Reported here in plain words, before SpiffWorkflow meets the broken
    reference and fails with a message designers cannot act on.
    """
    problems: list[Problem] = []
    for container in _containers(tree):
        nodes = _flow_nodes(container)
        for flow in _sequence_flows(container):
            for attr in ("sourceRef", "targetRef"):
                ref = flow.get(attr)
                if ref not in nodes:
                    problems.append(
                        _problem(
                            name,
                            flow.get("id"),
                            N_(
                                "El flujo de secuencia apunta a «%(ref)s» "
                                "(%(attr)s), que no es un elemento del mismo "
                                "proceso o subproceso."
                            ),
                            ref=ref or "",
                            attr=attr,
                        )
                    )
        for node in nodes.values():
            attached = node.get("attachedToRef")
            if _local(node) == "boundaryEvent" and attached not in nodes:
                problems.append(
                    _problem(
                        name,
                        node.get("id"),
                        N_(
                            "El evento de borde está unido a «%(ref)s», que no es "
                            "una actividad del mismo proceso o subproceso."
                        ),
                        ref=attached or "",
                    )
                )
    return problems


def _is_event_subprocess(node: Any) -> bool:
    """Whether ``node`` is an event subprocess (started by an event)."""
    return _local(node) in _SUBPROCESSES and node.get("triggeredByEvent") == "true"


def _link_name(node: Any) -> str | None:
    """The name of a link event's definition, if ``node`` is a link event."""
    for child in node:
        if _is_bpmn(child) and _local(child) == "linkEventDefinition":
            return str(child.get("name") or node.get("name") or "")
    return None


def _check_reachable(name: str, tree: Any) -> list[Problem]:
    """Warn about flow nodes no path from a start event reaches.

    Sequence flows are followed from the start events of each process (and of
    each reached subprocess); a boundary event is reached with the activity it
    is attached to, a link catch event with the throw event of the same name.
    Event subprocesses start on their own and are left out.
    """
    problems: list[Problem] = []
    for process in tree.xpath("//bpmn:process", namespaces=NSMAP):
        problems.extend(_unreached(name, process))
    return problems


def _unreached(name: str, container: Any) -> list[Problem]:
    """Unreached nodes of one process or subprocess, and of those it reaches."""
    nodes = _flow_nodes(container)
    starts = [i for i, n in nodes.items() if _local(n) == "startEvent"]
    if not starts:
        return []
    following: dict[str, list[str]] = {}
    for flow in _sequence_flows(container):
        following.setdefault(flow.get("sourceRef"), []).append(flow.get("targetRef"))
    for node_id, node in nodes.items():
        if _local(node) == "boundaryEvent":
            following.setdefault(node.get("attachedToRef"), []).append(node_id)
    catches: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        link = _link_name(node)
        if link is not None and _local(node) == "intermediateCatchEvent":
            catches.setdefault(link, []).append(node_id)
    for node_id, node in nodes.items():
        link = _link_name(node)
        if link is not None and _local(node) == "intermediateThrowEvent":
            following.setdefault(node_id, []).extend(catches.get(link, []))
    reached: set[str] = set()
    pending = list(starts)
    while pending:
        current = pending.pop()
        if current in reached or current not in nodes:
            continue
        reached.add(current)
        pending.extend(following.get(current, []))
    problems: list[Problem] = []
    for node_id, node in nodes.items():
        if _is_event_subprocess(node):
            continue
        if node_id not in reached:
            if (
                _local(node) == "boundaryEvent"
                and node.get("attachedToRef") not in reached
            ):
                continue  # reported through the activity it is attached to
            problems.append(
                _problem(
                    name,
                    node_id,
                    N_(
                        "Ningún camino desde un evento de inicio llega a "
                        "«%(label)s»: nunca se ejecutará. Conéctelo con un flujo "
                        "de secuencia o elimínelo."
                    ),
                    severity="warning",
                    label=node.get("name") or node_id,
                )
            )
        elif _local(node) in _SUBPROCESSES:
            problems.extend(_unreached(name, node))
    return problems


def _dmn_children(node: Any, local: str) -> list[Any]:
    """Direct children of a DMN element with this local name (any DMN version)."""
    return [c for c in node if isinstance(c.tag, str) and _local(c) == local]


def _is_catch_all(rule: Any) -> bool:
    """Whether every input entry of a rule is empty or ``-``."""
    for entry in _dmn_children(rule, "inputEntry"):
        texts = _dmn_children(entry, "text")
        value = (texts[0].text or "").strip() if texts else ""
        if value not in ("", "-"):
            return False
    return True


def _check_decision_tables(name: str, tree: Any) -> list[Problem]:
    """Warn about decision tables without a final catch-all rule.

    Without one, a case whose data matches no rule gets no result and the
    business rule task fails at run time.
    """
    problems: list[Problem] = []
    for table in tree.xpath("//*[local-name()='decisionTable']"):
        decision = table.getparent()
        decision_id = decision.get("id") or table.get("id")
        label = decision.get("name") or decision_id
        rules = _dmn_children(table, "rule")
        if not rules:
            problems.append(
                _problem(
                    name,
                    decision_id,
                    N_("La tabla de decisión «%(label)s» no tiene reglas."),
                    severity="warning",
                    label=label,
                )
            )
        elif not _is_catch_all(rules[-1]):
            problems.append(
                _problem(
                    name,
                    decision_id,
                    N_(
                        "La tabla de decisión «%(label)s» no termina con una regla "
                        "comodín: la última regla (n.º %(number)s) tiene "
                        "condiciones, y un caso que no coincida con ninguna regla "
                        "quedará sin resultado. Agregue al final una regla con "
                        "todas las entradas vacías o «-»."
                    ),
                    severity="warning",
                    label=label,
                    number=len(rules),
                )
            )
    return problems


def _check_called_elements(
    bpmn_trees: dict[str, Any], dmn_trees: dict[str, Any]
) -> list[Problem]:
    """Business rule tasks and call activities must find what they call.

    A ``calledDecisionId`` needs a ``.dmn`` of the bundle defining that
    decision; a call activity's ``calledElement`` needs a process of the
    bundle.
    """
    decisions = sorted(
        str(decision.get("id"))
        for tree in dmn_trees.values()
        for decision in tree.xpath("//*[local-name()='decision']")
        if decision.get("id")
    )
    processes = sorted(
        str(process.get("id"))
        for tree in bpmn_trees.values()
        for process in tree.xpath("//bpmn:process", namespaces=NSMAP)
        if process.get("id")
    )
    problems: list[Problem] = []
    for name, tree in bpmn_trees.items():
        for task in tree.xpath("//bpmn:businessRuleTask", namespaces=NSMAP):
            refs = task.xpath(
                "bpmn:extensionElements/spiffworkflow:calledDecisionId",
                namespaces=NSMAP,
            )
            ref = (refs[0].text or "").strip() if refs else ""
            if not ref:
                problems.append(
                    _problem(
                        name,
                        task.get("id"),
                        N_(
                            "La tarea de reglas de negocio no indica qué tabla de "
                            "decisión usa (calledDecisionId)."
                        ),
                    )
                )
            elif ref not in decisions:
                problems.append(
                    _problem(
                        name,
                        task.get("id"),
                        N_(
                            "La tarea de reglas de negocio usa la tabla de decisión "
                            "«%(decision)s», pero ningún archivo .dmn del paquete "
                            "la define (tablas del paquete: %(available)s). Agregue "
                            "el archivo .dmn al paquete o corrija el identificador."
                        ),
                        decision=ref,
                        available=", ".join(decisions) or "ninguna",
                    )
                )
        for call in tree.xpath("//bpmn:callActivity", namespaces=NSMAP):
            ref = (call.get("calledElement") or "").strip()
            if ref not in processes:
                problems.append(
                    _problem(
                        name,
                        call.get("id"),
                        N_(
                            "La actividad de llamada invoca el proceso «%(process)s», "
                            "que no está en el paquete (procesos del paquete: "
                            "%(available)s)."
                        ),
                        process=ref,
                        available=", ".join(processes) or "ninguno",
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
    spec: Any,
    tasks: dict[str, TaskInfo],
    schemas: dict[str, Any],
    file: str,
    present: Collection[str] = (),
) -> list[Problem]:
    """User tasks need a lane and an existing form.

    ``present`` names the bundle's files: a form that is there but unreadable
    already has its own problem, so it is not also reported as missing.
    (Lane names are checked on the XML, by :func:`_check_lanes`.)
    """
    problems: list[Problem] = []
    for info in tasks.values():
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
        if info.form and info.form not in schemas and info.form not in present:
            problems.append(
                _problem(
                    file,
                    info.bpmn_id,
                    N_("Falta el archivo de formulario «%(form)s»."),
                    form=info.form,
                )
            )
    return problems


def _start_events(spec: Any) -> list[str]:
    """BPMN ids of the process's start events."""
    return sorted(
        task_spec.bpmn_id
        for task_spec in spec.task_specs.values()
        if task_spec.__class__.__name__ == "StartEvent" and task_spec.bpmn_id
    )


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
