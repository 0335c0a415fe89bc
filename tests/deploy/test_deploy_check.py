"""`make deploy-check`: passes on the repository, fails on broken manifests, needs no network."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from k8s_objects import DEPLOY_DIR, ROOT

CHECK = [sys.executable, str(DEPLOY_DIR / "check.py")]


@pytest.fixture
def deploy_copy(tmp_path: Path) -> Path:
    """A copy of deploy/ that a test may break."""
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


class TestOnTheRepository:
    def test_make_deploy_check_passes(self) -> None:
        done = subprocess.run(
            ["make", "--no-print-directory", "deploy-check"],
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "deploy-check: OK" in done.stdout

    def test_checks_every_overlay_when_kustomize_is_there(self, kustomize: list[str]) -> None:
        done = subprocess.run(CHECK, check=False, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout
        for root in (
            "deploy/base",
            "deploy/overlays/dev",
            "deploy/overlays/dev-keda",
            "deploy/overlays/prod",
        ):
            assert f"render  {root}:" in done.stdout

    def test_without_kustomize_it_says_rendering_was_skipped(self, tmp_path: Path) -> None:
        # A PATH with the Python interpreter's directory only: no kubectl, no kustomize.
        done = subprocess.run(
            CHECK,
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": str(tmp_path)},
        )
        assert done.returncode == 0, done.stdout
        assert (
            "SKIPPED rendering the overlays: neither kustomize nor kubectl is on PATH"
            in done.stdout
        )
        assert "render  " not in done.stdout

    def test_validates_against_oldest_and_newest_kubernetes(self, deploy_check: ModuleType) -> None:
        versions = deploy_check.kubernetes_versions()
        assert versions[0] == deploy_check.OLDEST_KUBERNETES
        assert len(versions) == 2 and versions[1] > versions[0]


class TestOffline:
    def test_validation_opens_no_network_connection(
        self, deploy_check: ModuleType, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The schemas ship inside kubernetes-validate: any connection attempt would fail here."""
        attempts: list[Any] = []

        def refuse(*args: Any, **kwargs: Any) -> None:
            attempts.append(args)
            raise OSError("network is off in this test")

        monkeypatch.setattr(socket.socket, "connect", refuse)
        monkeypatch.setattr(socket.socket, "connect_ex", refuse)
        monkeypatch.setattr(socket, "create_connection", refuse)
        monkeypatch.setattr(socket, "getaddrinfo", refuse)
        report = deploy_check.check(DEPLOY_DIR, kustomize=None)
        assert report.errors == []
        assert attempts == []
        assert any(line.startswith("file    ") for line in report.lines)

    def test_make_deploy_check_passes_without_any_network(self) -> None:
        """The whole check, kustomize included, in a network namespace that has no interface up."""
        if (
            shutil.which("unshare") is None
            or subprocess.run(
                ["unshare", "-n", "true"], check=False, capture_output=True
            ).returncode
            != 0
        ):
            pytest.skip("cannot create a network namespace here (unshare -n needs privileges)")
        done = subprocess.run(
            ["unshare", "-n", *CHECK], check=False, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "deploy-check: OK" in done.stdout


class TestCatchesBrokenManifests:
    """Each test breaks one thing in a copy of deploy/ and expects the check to say so."""

    def run_check(self, deploy_copy: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CHECK, "--deploy-dir", str(deploy_copy), *extra],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def test_unknown_field(self, deploy_copy: Path) -> None:
        edit(
            deploy_copy / "base/gateway.yaml",
            "          imagePullPolicy: IfNotPresent\n",
            "          imagePullPolicy: IfNotPresent\n          imagePullPolcy: Always\n",
        )
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert (
            "deploy/base/gateway.yaml: Deployment/gateway: spec.template.spec.containers.0:"
            in done.stdout
        )
        assert "'imagePullPolcy' was unexpected" in done.stdout

    def test_misspelt_probe_is_an_unknown_field(self, deploy_copy: Path) -> None:
        edit(deploy_copy / "base/eval-svc.yaml", "readinessProbe:", "readinesProbe:")
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert "'readinesProbe' was unexpected" in done.stdout

    def test_wrong_type(self, deploy_copy: Path) -> None:
        edit(deploy_copy / "base/import-svc.yaml", "  replicas: 2\n", "  replicas: two\n")
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert "Deployment/import-svc: spec.replicas: 'two' is not of type 'integer'" in done.stdout

    def test_wrong_type_deep_inside(self, deploy_copy: Path) -> None:
        edit(
            deploy_copy / "overlays/dev/nats/statefulset.yaml",
            "failureThreshold: 60",
            "failureThreshold: lots",
        )
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert (
            "StatefulSet/nats: spec.template.spec.containers.0.startupProbe.failureThreshold"
            in done.stdout
        )

    def test_missing_required_field(self, deploy_copy: Path) -> None:
        edit(
            deploy_copy / "base/gateway.yaml",
            "        - name: gateway\n          image: calcwire\n",
            "        - image: calcwire\n",
        )
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert (
            "Deployment/gateway: spec.template.spec.containers.0: 'name' is a required property"
            in done.stdout
        )

    def test_kind_without_a_schema(self, deploy_copy: Path) -> None:
        edit(
            deploy_copy / "base/eval-svc-hpa.yaml",
            "kind: HorizontalPodAutoscaler",
            "kind: HorizontalPodAutoscalar",
        )
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert (
            "no schema for apiVersion 'autoscaling/v2' kind 'HorizontalPodAutoscalar'"
            in done.stdout
        )

    def test_api_version_the_oldest_release_lacks(self, deploy_check: ModuleType) -> None:
        """flowcontrol v1beta3 is in Kubernetes 1.29 but was removed in 1.32."""
        flow_schema = {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1beta3",
            "kind": "FlowSchema",
            "metadata": {"name": "x"},
            "spec": {"priorityLevelConfiguration": {"name": "y"}},
        }
        oldest, newest = deploy_check.kubernetes_versions()
        assert deploy_check.validate_object(flow_schema, [oldest]) == []
        problems = deploy_check.validate_object(flow_schema, [oldest, newest])
        assert len(problems) == 1
        assert "no schema for apiVersion 'flowcontrol.apiserver.k8s.io/v1beta3'" in problems[0]
        assert problems[0].endswith(f"(Kubernetes {newest})")

    def test_repeated_key(self, deploy_copy: Path) -> None:
        edit(
            deploy_copy / "base/validation-svc.yaml",
            "      enableServiceLinks: false\n",
            "      enableServiceLinks: false\n      enableServiceLinks: true\n",
        )
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert "key 'enableServiceLinks' appears twice" in done.stdout

    def test_file_no_kustomization_uses(self, deploy_copy: Path) -> None:
        (deploy_copy / "base/forgotten.yaml").write_text(
            (deploy_copy / "base/serviceaccount.yaml").read_text()
        )
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert "deploy/base/forgotten.yaml: no kustomization uses this file" in done.stdout

    def test_unknown_kustomization_field(self, deploy_copy: Path) -> None:
        edit(deploy_copy / "overlays/dev/kustomization.yaml", "\nresources:\n", "\nresource:\n")
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert (
            "overlays/dev/kustomization.yaml: 'resource' is not a kustomization field"
            in done.stdout
        )

    def test_remote_resource(self, deploy_copy: Path) -> None:
        edit(
            deploy_copy / "overlays/prod/kustomization.yaml",
            "  - ../../base\n",
            "  - ../../base\n  - https://github.com/example/manifests/nats.yaml\n",
        )
        done = self.run_check(deploy_copy, "--no-render")
        assert done.returncode == 1
        assert "is not a local path (deploy/ must work offline)" in done.stdout

    def test_broken_patch_is_caught_in_the_render(
        self, deploy_copy: Path, kustomize: list[str]
    ) -> None:
        """Patches are partial objects; only the rendered overlay shows a patch's unknown field."""
        edit(
            deploy_copy / "overlays/prod/replicas.yaml",
            "  replicas: 3\n",
            "  replicas: 3\n  replica: 3\n",
        )
        assert self.run_check(deploy_copy, "--no-render").returncode == 0
        done = self.run_check(deploy_copy)
        assert done.returncode == 1
        assert (
            "render of deploy/overlays/prod: Deployment/gateway: spec: Additional properties are not allowed"
            in done.stdout
        )

    def test_overlay_that_does_not_render(self, deploy_copy: Path, kustomize: list[str]) -> None:
        edit(deploy_copy / "overlays/dev/kustomization.yaml", "  - postgres\n", "  - postgresql\n")
        done = self.run_check(deploy_copy)
        assert done.returncode == 1
        assert f"{' '.join(kustomize)} {deploy_copy / 'overlays/dev'} failed" in done.stdout


class TestYamlLoading:
    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("a: [1, 2\n", "not valid YAML"),
            ("- 1\n- 2\n", "not a mapping"),
            ("a: 1\nb:\n  c: 1\n  c: 2\n", "key 'c' appears twice"),
        ],
    )
    def test_refuses(self, deploy_check: ModuleType, text: str, problem: str) -> None:
        with pytest.raises(deploy_check.YamlError, match=problem):
            deploy_check.load_yaml_documents(text, "x.yaml")

    def test_skips_empty_documents(self, deploy_check: ModuleType) -> None:
        load: Callable[[str, str], list[dict[str, Any]]] = deploy_check.load_yaml_documents
        assert load("---\na: 1\n---\n---\nb: 2\n", "x.yaml") == [{"a": 1}, {"b": 2}]
