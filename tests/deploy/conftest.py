"""Fixtures of the deploy tests: deploy/check.py as a module, the manifest files and the renders."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from k8s_objects import DEPLOY_DIR, ROOT, Obj

NO_KUSTOMIZE = (
    "neither kustomize nor kubectl is on PATH: the rendered overlays cannot be checked here"
)


def _load_check_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("deploy_check", DEPLOY_DIR / "check.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def deploy_check() -> ModuleType:
    return _load_check_module()


@pytest.fixture(scope="session")
def kustomize(deploy_check: ModuleType) -> list[str]:
    command: list[str] | None = deploy_check.find_kustomize()
    if command is None:
        pytest.skip(NO_KUSTOMIZE)
    return command


@pytest.fixture(scope="session")
def renders(deploy_check: ModuleType, kustomize: list[str]) -> dict[str, list[Obj]]:
    """Every overlay (and the base) rendered: 'base', 'dev', 'dev-keda', 'prod'."""
    return {
        root.name: deploy_check.render(root, kustomize)
        for root in deploy_check.render_roots(DEPLOY_DIR)
    }


@pytest.fixture(scope="session")
def overlays(renders: dict[str, list[Obj]]) -> dict[str, list[Obj]]:
    """The renders that are deployed: every overlay, not the base."""
    return {overlay: objects for overlay, objects in renders.items() if overlay != "base"}


@pytest.fixture(scope="session")
def resource_files(deploy_check: ModuleType) -> dict[str, list[Obj]]:
    """The objects of every manifest file a kustomization lists as a resource, by file."""
    used = deploy_check.scan_kustomizations(DEPLOY_DIR)
    return {
        str(path.relative_to(ROOT)): deploy_check.load_yaml_documents(path.read_text(), str(path))
        for path in sorted(used.resources)
    }


def _env_file(path: Path) -> dict[str, str]:
    """A kustomize env file: KEY=VALUE lines, # comments."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value
    return pairs


@pytest.fixture(scope="session")
def file_objects(deploy_check: ModuleType, resource_files: dict[str, list[Obj]]) -> list[Obj]:
    """Every object of the manifest files, plus the base's generated ConfigMaps (unhashed
    names): what the checks that need no overlay can run on without kustomize."""
    objects = [obj for objs in resource_files.values() for obj in objs]
    base = DEPLOY_DIR / "base"
    (kustomization,) = deploy_check.load_yaml_documents((base / "kustomization.yaml").read_text())
    for generator in kustomization["configMapGenerator"]:
        data: dict[str, str] = {}
        for env in generator.get("envs", []):
            data.update(_env_file(base / env))
        objects.append(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]},
             "data": data}
        )  # fmt: skip
    return objects


@pytest.fixture(scope="session")
def manifest_sets(deploy_check: ModuleType, file_objects: list[Obj]) -> dict[str, list[Obj]]:
    """The manifest files ('files') everywhere, and every render where kustomize is."""
    sets = {"files": file_objects}
    command = deploy_check.find_kustomize()
    if command is not None:
        for root in deploy_check.render_roots(DEPLOY_DIR):
            sets[root.name] = deploy_check.render(root, command)
    return sets
