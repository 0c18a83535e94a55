"""Reading bundles from folders and zips, with the shared-table and forms rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from engine.bundles.markup import NSMAP, SHARED_FOLDER, problem, safe_xml_parser
from engine.bundles.scenario_files import SCENARIO_FOLDER
from engine.domain.errors import N_, BundleInvalid


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


def read_scenario_dir(folder: Path) -> dict[str, str]:
    """The process tests of a bundle folder: ``tests/*.json``, named so."""
    tests = folder / SCENARIO_FOLDER
    if not tests.is_dir():
        return {}
    return {
        f"{SCENARIO_FOLDER}/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted(tests.iterdir())
        if path.suffix == ".json" and path.is_file()
    }


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
    gives its ``.bpmn``, ``.dmn`` and ``.json`` files, and its process tests
    ``tests/*.json`` under those names. Then, never replacing
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
        files.update(read_scenario_dir(source))
        keys = {source.name}
    else:
        raise BundleInvalid(
            [
                problem(
                    source.name,
                    None,
                    N_("«%(path)s» no es una carpeta ni un archivo .zip."),
                    path=str(path),
                )
            ]
        )
    diagrams = [tree_or_none(text) for n, text in files.items() if n.endswith(".bpmn")]
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


def tree_or_none(text: str) -> Any:
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
        tree = tree_or_none(text) if name.endswith(".dmn") else None
        if tree is not None:
            defined |= _decision_ids(tree)
    wanted = called - defined
    added: dict[str, str] = {}
    for name, text in read_bundle_dir(shared).items():
        if not name.endswith(".dmn") or name in files:
            continue
        tree = tree_or_none(text)
        if tree is not None and _decision_ids(tree) & wanted:
            added[name] = text
    return added
