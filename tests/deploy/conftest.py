"""Fixtures of the deploy tests: deploy/check.py as a module, the manifest files and the renders."""

from __future__ import annotations

import importlib.util
import sys
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
