#!/usr/bin/env python3
"""Check deploy/ against the Kubernetes API schemas, offline (``make deploy-check``).

    python deploy/check.py                     # the repository's deploy/
    python deploy/check.py --deploy-dir DIR    # another copy (the tests break one)
    python deploy/check.py --no-render         # the files only, without kustomize

Two passes, each object checked against the oldest Kubernetes release calcwire
supports (:data:`OLDEST_KUBERNETES`) and the newest one the validator knows:

1. Files. Every YAML file under deploy/ must be used by a kustomization, as the
   kustomization itself, a resource or a patch, so that nothing lies there
   unchecked. Every object of a resource file is validated. Patches are partial
   objects by nature: they are validated applied, in pass 2.
2. Renders. deploy/base and every kustomization directly under deploy/overlays
   are rendered (``kustomize build``, else ``kubectl kustomize``) and every object
   of the result is validated. Without either tool on PATH this pass is skipped,
   and the output says so.

The validator is the ``kubernetes-validate`` package in strict mode: the JSON
schemas of every Kubernetes release it supports ship inside the package, so no
network is used, and strict mode rejects a field the API does not have as well
as a wrong type or a missing required field. An object of a kind with no schema
is an error (a typo in ``kind`` or ``apiVersion`` must not pass silently), except
the custom resources listed in :data:`CUSTOM_RESOURCES`, which tests/deploy
check by structure. So is a YAML mapping with a repeated key, which the API
server would refuse.
"""

from __future__ import annotations

import argparse
import functools
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import yaml
from kubernetes_validate import utils as kubernetes_validate_utils

__all__ = [
    "CUSTOM_RESOURCES",
    "DEFAULT_DEPLOY_DIR",
    "OLDEST_KUBERNETES",
    "Report",
    "check",
    "find_kustomize",
    "kubernetes_versions",
    "load_yaml_documents",
    "main",
    "render",
    "render_roots",
]

DEFAULT_DEPLOY_DIR = Path(__file__).resolve().parent

OLDEST_KUBERNETES = "1.29"
"""The oldest release the manifests must be valid for (gRPC probes are GA since 1.27)."""

CUSTOM_RESOURCES: frozenset[tuple[str, str]] = frozenset(
    {
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("keda.sh/v1alpha1", "TriggerAuthentication"),
    }
)
"""(apiVersion, kind) of the custom resources deploy/ may hold: no bundled schema."""

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZE_KINDS = frozenset({"Kustomization", "Component"})
# The fields of a kustomization (kustomize v5): kustomize refuses others when it renders;
# checked here too, for machines without kustomize.
KUSTOMIZATION_FIELDS = frozenset(
    {
        "apiVersion", "kind", "metadata", "resources", "components", "bases", "crds",
        "namespace", "namePrefix", "nameSuffix", "labels", "commonLabels", "commonAnnotations",
        "images", "replicas", "patches", "patchesStrategicMerge", "patchesJson6902",
        "configMapGenerator", "secretGenerator", "generatorOptions", "replacements", "vars",
        "openapi", "configurations", "generators", "transformers", "validators", "helmCharts",
        "helmGlobals", "buildMetadata", "sortOptions",
    }
)  # fmt: skip
RENDER_TIMEOUT_SECONDS = 60

Obj = dict[str, Any]

# kubernetes-validate parses its schema files again for every object (most of a
# check's time went there); they never change while we run, so parse each once.
if callable(getattr(kubernetes_validate_utils, "schema_contents", None)):
    kubernetes_validate_utils.schema_contents = functools.lru_cache(maxsize=None)(
        kubernetes_validate_utils.schema_contents
    )


class YamlError(ValueError):
    """A file that is not valid YAML for Kubernetes (syntax, a repeated key, not a mapping)."""


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses a mapping with the same key twice."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Obj:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise YamlError(f"line {key_node.start_mark.line + 1}: key {key!r} appears twice")
        seen.add(key)
    return {str(key): value for key, value in loader.construct_mapping(node, deep=deep).items()}


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_documents(text: str, source: str = "<text>") -> list[Obj]:
    """The non-empty documents of a YAML stream, each a mapping; YamlError otherwise."""
    try:
        documents = [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: not valid YAML: {exc}") from None
    except YamlError as exc:
        raise YamlError(f"{source}: {exc}") from None
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise YamlError(
                f"{source}: document {index + 1} is a {type(document).__name__}, not a mapping"
            )
    return documents


def kubernetes_versions() -> tuple[str, ...]:
    """The releases every object is checked against: the oldest supported and the newest known."""
    newest = kubernetes_validate_utils.major_minor(kubernetes_validate_utils.latest_version())
    return (OLDEST_KUBERNETES, newest) if newest != OLDEST_KUBERNETES else (OLDEST_KUBERNETES,)


def describe(obj: Obj) -> str:
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    return f"{obj.get('kind', '<no kind>')}/{metadata.get('name', '<no name>')}"


def validate_object(obj: Obj, versions: Sequence[str]) -> list[str]:
    """Problems of one object against each release (the same problem said once)."""
    if not isinstance(obj.get("apiVersion"), str) or not isinstance(obj.get("kind"), str):
        return ["apiVersion and kind must both be strings"]
    if (obj["apiVersion"], obj["kind"]) in CUSTOM_RESOURCES:
        return []
    found: dict[str, list[str]] = {}
    for version in versions:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(part) for part in exc.path) or "(top level)"
            found.setdefault(f"{where}: {exc.message}", []).append(version)
        except kubernetes_validate.SchemaNotFoundError:
            found.setdefault(
                f"no schema for apiVersion {obj['apiVersion']!r} kind {obj['kind']!r}"
                " (a typo? a custom resource must be listed in CUSTOM_RESOURCES)",
                [],
            ).append(version)
    return [f"{problem} (Kubernetes {', '.join(vs)})" for problem, vs in found.items()]


@dataclass
class Kustomizations:
    """What the kustomizations under a directory use, by role."""

    kustomizations: set[Path] = field(default_factory=set)
    resources: set[Path] = field(default_factory=set)
    patches: set[Path] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _entries(value: Any) -> Iterator[Any]:
    yield from value if isinstance(value, list) else ()


def scan_kustomizations(deploy_dir: Path) -> Kustomizations:
    found = Kustomizations()
    for path in sorted(p for name in KUSTOMIZATION_NAMES for p in deploy_dir.rglob(name)):
        found.kustomizations.add(path)
        where = path.relative_to(deploy_dir.parent)
        try:
            (document,) = load_yaml_documents(path.read_text(), str(where))
        except (YamlError, ValueError) as exc:
            found.problems.append(f"{where}: {exc}")
            continue
        if document.get("kind", "Kustomization") not in KUSTOMIZE_KINDS:
            found.problems.append(
                f"{where}: kind {document.get('kind')!r} is not Kustomization or Component"
            )
        for unknown in sorted(set(document) - KUSTOMIZATION_FIELDS):
            found.problems.append(f"{where}: {unknown!r} is not a kustomization field")
        base = path.parent
        for entry in _entries(document.get("resources")):
            if (
                not isinstance(entry, str)
                or "://" in entry
                or entry.startswith(("github.com/", "git@"))
            ):
                found.problems.append(
                    f"{where}: resource {entry!r} is not a local path (deploy/ must work offline)"
                )
            elif (base / entry).is_file():
                found.resources.add((base / entry).resolve())
        for entry in _entries(document.get("patches")):
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                found.patches.add((base / entry["path"]).resolve())
        for entry in _entries(document.get("patchesStrategicMerge")):
            if isinstance(entry, str) and (base / entry).is_file():
                found.patches.add((base / entry).resolve())
        for entry in _entries(document.get("patchesJson6902")):
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                found.patches.add((base / entry["path"]).resolve())
    return found


def find_kustomize() -> list[str] | None:
    """The command that renders a kustomization directory, or None when there is none."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render(directory: Path, kustomize: Sequence[str]) -> list[Obj]:
    """The objects ``kustomize`` renders from ``directory``; RuntimeError when it fails."""
    try:
        done = subprocess.run(
            [*kustomize, str(directory)],
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"{' '.join(kustomize)} {directory}: no answer in {RENDER_TIMEOUT_SECONDS}s"
        ) from None
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(kustomize)} {directory} failed: {done.stderr.strip()}")
    return load_yaml_documents(done.stdout, f"rendered {directory}")


def render_roots(deploy_dir: Path) -> list[Path]:
    """deploy/base and every overlay: the directories that render on their own."""
    roots = [deploy_dir / "base"]
    overlays = deploy_dir / "overlays"
    if overlays.is_dir():
        roots += sorted(
            p for p in overlays.iterdir() if any((p / n).is_file() for n in KUSTOMIZATION_NAMES)
        )
    return [r for r in roots if r.is_dir()]


@dataclass
class Report:
    """What a check found: ``errors`` empty means it passed."""

    errors: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    custom_resources: list[str] = field(default_factory=list)
    rendered: bool = False

    def error(self, text: str) -> None:
        self.errors.append(text)
        self.lines.append(f"ERROR {text}")


def _check_objects(
    report: Report, objects: Iterable[Obj], source: str, versions: Sequence[str]
) -> int:
    count = 0
    for obj in objects:
        count += 1
        if (obj.get("apiVersion"), obj.get("kind")) in CUSTOM_RESOURCES:
            report.custom_resources.append(f"{obj['apiVersion']} {describe(obj)} ({source})")
        for problem in validate_object(obj, versions):
            report.error(f"{source}: {describe(obj)}: {problem}")
    return count


def check(
    deploy_dir: Path,
    *,
    versions: Sequence[str] | None = None,
    kustomize: Sequence[str] | None = None,
) -> Report:
    """Check ``deploy_dir`` (files, then renders with ``kustomize`` when given)."""
    versions = tuple(versions or kubernetes_versions())
    report = Report()
    shown = deploy_dir.parent
    used = scan_kustomizations(deploy_dir)
    for problem in used.problems:
        report.error(problem)

    for path in sorted(p for ext in ("*.yaml", "*.yml") for p in deploy_dir.rglob(ext)):
        resolved = path.resolve()
        if path in used.kustomizations or resolved in used.patches:
            continue
        where = str(path.relative_to(shown))
        if resolved not in used.resources:
            report.error(f"{where}: no kustomization uses this file, so nothing checks it")
            continue
        try:
            objects = load_yaml_documents(path.read_text(), where)
        except YamlError as exc:
            report.error(str(exc))
            continue
        count = _check_objects(report, objects, where, versions)
        report.lines.append(f"file    {where}: {count} object(s)")
    for path in sorted(used.patches):
        if not path.is_file():
            report.error(f"{path}: a kustomization names this patch, but it does not exist")

    if kustomize is not None:
        report.rendered = True
        for root in render_roots(deploy_dir):
            where = str(root.relative_to(shown))
            try:
                objects = render(root, kustomize)
            except (RuntimeError, YamlError) as exc:
                report.error(str(exc))
                continue
            count = _check_objects(report, objects, f"render of {where}", versions)
            report.lines.append(f"render  {where}: {count} object(s)")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--deploy-dir", type=Path, default=DEFAULT_DEPLOY_DIR, help="the deploy/ directory to check"
    )
    parser.add_argument(
        "--no-render", action="store_true", help="check the files only, without kustomize"
    )
    parser.add_argument("--quiet", action="store_true", help="print errors and the verdict only")
    args = parser.parse_args(argv)

    deploy_dir: Path = args.deploy_dir.resolve()
    versions = kubernetes_versions()
    kustomize = None if args.no_render else find_kustomize()
    print(
        f"deploy-check: {deploy_dir}: strict schemas of Kubernetes {' and '.join(versions)}"
        f" (kubernetes-validate {kubernetes_validate.__version__}, bundled, offline)"
    )
    report = check(deploy_dir, versions=versions, kustomize=kustomize)
    for line in report.lines:
        if not args.quiet or line.startswith("ERROR"):
            print(line)
    if not args.quiet:
        for resource in report.custom_resources:
            print(f"note    custom resource, no schema (checked by tests/deploy): {resource}")
    if args.no_render:
        print("deploy-check: rendering skipped (--no-render)")
    elif kustomize is None:
        print(
            "deploy-check: SKIPPED rendering the overlays: neither kustomize nor kubectl is on PATH"
            " (only the files were checked)"
        )
    else:
        print(f"deploy-check: rendered with `{' '.join(kustomize)}`")
    if report.errors:
        print(f"deploy-check: FAILED, {len(report.errors)} error(s)")
        return 1
    print("deploy-check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
