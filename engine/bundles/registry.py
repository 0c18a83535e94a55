"""Process bundles: read, validate, parse, and cache parsed specs.

A bundle is one case type's ``.bpmn`` and ``.dmn`` files plus its form
``.json`` files, keyed by file name. Deployed bundles live in the database
(``process_version``); parsed specs are cached in memory by content hash, so
every web process and worker parses a version once.

Uploaded zips and files are read safely by :mod:`engine.bundles`; what changed
between versions is :mod:`engine.bundles.changes`, and moving running cases to
a new one is :mod:`engine.workflow.migration`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.bundles import form_checks, milestones, scenario_files, texts
from engine.bundles.checks import (
    check_called_elements,
    check_lanes,
    check_reachable,
    check_references,
)
from engine.bundles.code_checks import check_scripts, check_timers
from engine.bundles.decision_checks import check_decision_tables
from engine.bundles.forms import Schema
from engine.bundles.markup import (
    BPMN_NS,
    LANE_ROLES,
    MAX_FILE_BYTES,
    NSMAP,
    SHARED_FOLDER,
    SPIFF_NS,
    element_at_line,
    problem,
    safe_xml_parser,
)
from engine.bundles.reading import bundle_from_path, read_bundle_dir, seed_bundles
from engine.bundles.texts import LanguageTexts
from engine.domain.enums import Role
from engine.domain.errors import N_, BundleInvalid, Problem

# What callers read from here: the parsed version and its cache, plus the
# XML constants and bundle readers of the sibling modules.
__all__ = [
    "BPMN_NS",
    "LANE_ROLES",
    "MAX_FILE_BYTES",
    "NSMAP",
    "SHARED_FOLDER",
    "SPIFF_NS",
    "ParsedVersion",
    "SpecCache",
    "TaskInfo",
    "bundle_from_path",
    "content_hash",
    "parse_bundle",
    "read_bundle_dir",
    "safe_xml_parser",
    "seed_bundles",
]


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
    #: The citizen's milestones in order, (key, label), from the start
    #: event's ``hitos`` (see :mod:`engine.bundles.milestones`).
    milestones: list[tuple[str, str]] = field(default_factory=list)
    #: The bundle's texts in other languages, by language
    #: (:mod:`engine.bundles.texts`).
    languages: dict[str, LanguageTexts] = field(default_factory=dict)

    def in_language(self, language: str | None) -> LanguageTexts:
        """The bundle's texts in ``language``; what it lacks stays Spanish."""
        found = self.languages.get(language or "")
        return found if found is not None else _SPANISH

    def form(self, name: str | None) -> Schema:
        """The schema of a form file of this bundle (empty form when none)."""
        if name is None:
            return {"type": "object", "properties": {}}
        return self.forms[name]


#: The texts of a bundle in its own language: no overlay at all.
_SPANISH = LanguageTexts(texts.BASE_LANGUAGE)


def content_hash(files: dict[str, str]) -> str:
    """A stable hash of a bundle's files (names and contents)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(files[name].encode())
        digest.update(b"\0")
    return digest.hexdigest()


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
    scenarios, wrong_scenarios = scenario_files.read_scenarios(files)
    problems.extend(wrong_scenarios)
    languages = texts.read_overlays(files, schemas, problems)
    bpmn_names = sorted(n for n in trees if n.endswith(".bpmn"))
    dmn_names = sorted(n for n in trees if n.endswith(".dmn"))
    # A fatal problem keeps SpiffWorkflow from building the spec (or would make
    # it fail with a confusing message): the checks on the XML still run, the
    # checks on the parsed spec do not.
    fatal = bool(unreadable)
    if not bpmn_names and not any(n.endswith(".bpmn") for n in unreadable):
        problems.append(
            problem("", None, N_("El paquete no contiene ningún diagrama .bpmn."))
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
                problem(
                    name, None, N_("Error al leer el diagrama: %(detail)s"), detail=exc
                )
            )
            fatal = True
    for name in bpmn_names:
        problems.extend(check_lanes(name, trees[name]))
        problems.extend(check_scripts(name, trees[name]))
        problems.extend(check_timers(name, trees[name]))
        dangling = check_references(name, trees[name])
        problems.extend(dangling)
        fatal = fatal or bool(dangling)
        if not dangling:
            problems.extend(check_reachable(name, trees[name]))
    for name in dmn_names:
        problems.extend(check_decision_tables(name, trees[name]))
    if not any(n.endswith(".dmn") for n in unreadable):
        missing = check_called_elements(
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
                problem(
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
        problems.append(problem("", None, detail, detail=exc))
        raise BundleInvalid(problems) from exc

    tasks = _task_infos(spec, subprocess_specs)
    problems.extend(_check_tasks(spec, tasks, schemas, bpmn_names[0], files))
    problems.extend(
        scenario_files.check_references(
            scenarios,
            {r for i, t in tasks.items() if t.manual for r in (i, t.name)},
            {r for i, t in tasks.items() for r in (i, t.name) if r},
        )
    )
    start_infos = [tasks[i] for i in _start_events(spec) if i in tasks]
    declared_milestones, wrong = milestones.declared(
        start_infos[0].props if start_infos else {},
        {bpmn_id: info.props for bpmn_id, info in tasks.items()},
        spec.file or bpmn_names[0],
    )
    problems.extend(wrong)
    problems.extend(
        texts.check_messages(
            languages,
            statuses={i.estado for i in tasks.values() if i.estado},
            milestones={key for key, _ in declared_milestones},
            tasks=set(tasks),
        )
    )
    start_form = _start_form(spec)
    if start_form is None:
        starts = _start_events(spec)
        problems.append(
            problem(
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
        milestones=declared_milestones,
        languages=languages,
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
        if name.startswith(f"{scenario_files.SCENARIO_FOLDER}/"):
            continue  # process tests: read_scenarios checks them
        if texts.overlay_target(name) is not None:
            continue  # texts in another language: read_overlays checks them
        if len(text.encode()) > MAX_FILE_BYTES:
            problems.append(problem(name, None, N_("El archivo es demasiado grande.")))
            if is_xml:
                unreadable.append(name)
            continue
        if is_xml:
            try:
                trees[name] = etree.fromstring(text.encode(), safe_xml_parser())
            except etree.XMLSyntaxError as exc:
                problems.append(
                    problem(
                        name,
                        None,
                        N_("El XML no está bien formado: %(detail)s"),
                        detail=str(exc),
                    )
                )
                unreadable.append(name)
        elif name.endswith(".json"):
            schema, found = form_checks.read_form(name, text)
            problems.extend(found)
            if schema is not None:
                schemas[name] = schema
        else:
            problems.append(
                problem(name, None, N_("Tipo de archivo no admitido en un paquete."))
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
        element = element_at_line(tree, line)
    if element is None and isinstance(line, int) and line > 0:
        return problem(
            exc.file_name or name,
            None,
            N_("El diagrama no es válido (línea %(line)s): %(detail)s"),
            line=line,
            detail=detail,
        )
    return problem(
        exc.file_name or name,
        element,
        N_("El diagrama no es válido: %(detail)s"),
        detail=detail,
    )


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
    (Lane names are checked on the XML, by :func:`check_lanes`.)
    """
    problems: list[Problem] = []
    answered: set[str] = set()
    for info in tasks.values():
        schema = schemas.get(info.form or "")
        if (
            info.manual
            and info.lane not in (None, Role.CITIZEN)
            and isinstance(schema, dict)
            and info.form not in answered
        ):
            # Staff's forms only: a citizen's own reply is not an answer.
            answered.add(str(info.form))
            problems.extend(form_checks.answer_problems(str(info.form), schema))
        if info.manual:
            if info.lane is None:
                problems.append(
                    problem(
                        file,
                        info.bpmn_id,
                        N_("La tarea de usuario no está en ningún carril (rol)."),
                    )
                )
            if not info.form:
                problems.append(
                    problem(
                        file,
                        info.bpmn_id,
                        N_("La tarea de usuario no indica su formulario."),
                    )
                )
        if info.form and info.form not in schemas and info.form not in present:
            problems.append(
                problem(
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
