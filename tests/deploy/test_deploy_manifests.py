"""What the manifests must say, checked on every rendered overlay and on the files themselves.

``manifest_sets`` holds "files" (every manifest file's objects plus the base's
generated ConfigMaps) everywhere, and the renders of the base and every overlay
where kustomize or kubectl is installed; tests that need an overlay's render
(namespaces, secrets, targets, patches) take ``renders``/``overlays`` and skip,
saying so, without kustomize.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import urlsplit

from k8s_objects import (
    BACKENDS,
    SECRET_KEYS,
    SERVICE_SECRET_KEYS,
    SERVICES,
    Obj,
    base_name,
    config_maps,
    containers,
    env_of,
    matches,
    name,
    of_kind,
    one,
    pod_labels,
    pod_spec,
    port_of,
    secret_refs,
    workloads,
)

OVERLAY_NAMESPACES = {"dev": "calcwire-dev", "dev-keda": "calcwire-dev", "prod": "calcwire"}
SERVICE_PORTS = {"gateway": 50051, "import-svc": 50052, "eval-svc": 50053, "validation-svc": 50054}
TARGET_VARIABLES = {
    "CALCWIRE_IMPORT_TARGET": "import-svc",
    "CALCWIRE_EVAL_TARGET": "eval-svc",
    "CALCWIRE_VALIDATION_TARGET": "validation-svc",
}
# Time between SIGTERM's grace running out and the process being gone: closing NATS
# and the PostgreSQL pool take up to 5 s each (calcwire.server.ServiceHost.stop).
CLOSING_SECONDS = 10


def all_containers(objects: list[Obj]) -> Iterator[tuple[str, Obj]]:
    for workload in workloads(objects):
        for container in containers(workload):
            yield f"{workload['kind']}/{name(workload)}/{container['name']}", container


def effective(container: Obj, workload: Obj, key: str) -> object:
    """A security setting as the kubelet applies it: the container's, else the pod's."""
    own = container.get("securityContext", {})
    return own[key] if key in own else pod_spec(workload).get("securityContext", {}).get(key)


def assert_container_is_production_ready(
    where: str, container: Obj, workload: Obj, *, rendered: bool
) -> None:
    is_init = container in pod_spec(workload).get("initContainers", [])
    if not is_init:
        for probe in ("readinessProbe", "livenessProbe"):
            assert probe in container, f"{where}: no {probe}"
    resources = container.get("resources", {})
    for bound in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            assert resource in resources.get(bound, {}), f"{where}: no {resource} {bound}"
    assert effective(container, workload, "runAsNonRoot") is True, (
        f"{where}: runAsNonRoot is not true"
    )
    run_as_user = effective(container, workload, "runAsUser")
    assert isinstance(run_as_user, int) and run_as_user > 0, f"{where}: runAsUser {run_as_user!r}"
    security = container.get("securityContext", {})
    assert security.get("allowPrivilegeEscalation") is False, (
        f"{where}: privilege escalation allowed"
    )
    assert security.get("readOnlyRootFilesystem") is True, f"{where}: writable root filesystem"
    assert security.get("privileged") in (None, False), f"{where}: privileged"
    assert security.get("capabilities", {}).get("drop") == ["ALL"], (
        f"{where}: capabilities not all dropped"
    )
    assert not security.get("capabilities", {}).get("add"), f"{where}: capabilities added"
    seccomp = effective(container, workload, "seccompProfile")
    assert isinstance(seccomp, dict) and seccomp.get("type") == "RuntimeDefault", (
        f"{where}: seccomp {seccomp!r}"
    )
    if (
        rendered
    ):  # in the files, calcwire's image is a bare name that kustomize's `images` completes
        image = str(container.get("image", ""))
        last = image.rpartition("/")[2]
        tag = last.rpartition(":")[2] if ":" in last else ""
        assert "@sha256:" in image or tag not in ("", "latest"), (
            f"{where}: image {image!r} has no fixed tag"
        )


class TestEveryContainer:
    """Probes, requests, limits and a non-root, locked-down security context, everywhere."""

    def test_in_every_rendered_overlay(self, renders: dict[str, list[Obj]]) -> None:
        checked = 0
        for overlay, objects in renders.items():
            for workload in workloads(objects):
                for container in containers(workload):
                    where = f"{overlay}: {workload['kind']}/{name(workload)}/{container['name']}"
                    assert_container_is_production_ready(where, container, workload, rendered=True)
                    checked += 1
        # base 4, dev 6, dev-keda 6, prod 4: a render that lost its workloads would pass silently.
        assert checked == 20

    def test_in_every_manifest_file(self, resource_files: dict[str, list[Obj]]) -> None:
        checked = 0
        for path, objects in resource_files.items():
            for workload in workloads(objects):
                for container in containers(workload):
                    assert_container_is_production_ready(
                        f"{path}: {name(workload)}", container, workload, rendered=False
                    )
                    checked += 1
        assert checked == 6  # the four services, PostgreSQL, NATS

    def test_pods_mount_no_service_account_token(self, overlays: dict[str, list[Obj]]) -> None:
        for overlay, objects in overlays.items():
            for workload in workloads(objects):
                assert pod_spec(workload).get("automountServiceAccountToken") is False, (
                    overlay,
                    name(workload),
                )

    def test_the_namespace_enforces_the_restricted_pod_security_standard(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in overlays.items():
            namespace = one(objects, "Namespace", OVERLAY_NAMESPACES[overlay])
            assert (
                namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
                == "restricted"
            )

    def test_every_namespaced_object_is_in_the_overlay_namespace(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in overlays.items():
            for obj in objects:
                if obj["kind"] != "Namespace":
                    assert obj["metadata"].get("namespace") == OVERLAY_NAMESPACES[overlay], (
                        overlay,
                        obj["kind"],
                        name(obj),
                    )


class TestServices:
    """The four calcwire services: one image, its command, its port, graceful termination."""

    def test_one_deployment_per_service_from_one_image(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in manifest_sets.items():
            deployments = {name(d): d for d in of_kind(objects, "Deployment")}
            assert set(deployments) == set(SERVICES), overlay
            images = set()
            for deployment_name, module in SERVICES.items():
                (container,) = containers(deployments[deployment_name])
                assert container["command"] == ["python", "-m", module]
                images.add(container["image"])
            assert len(images) == 1, (overlay, images)

    def test_probes_are_native_grpc_on_the_port_the_service_listens_on(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in manifest_sets.items():
            maps = config_maps(objects)
            for deployment_name in SERVICES:
                (container,) = containers(one(objects, "Deployment", deployment_name))
                listen_port = port_of(env_of(container, maps)["CALCWIRE_LISTEN"])
                assert listen_port == SERVICE_PORTS[deployment_name]
                assert env_of(container, maps)["CALCWIRE_LISTEN"].startswith("0.0.0.0:"), (
                    "must be reachable"
                )
                assert [p["containerPort"] for p in container["ports"]] == [listen_port]
                for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                    assert container[probe]["grpc"]["port"] == listen_port, (
                        overlay,
                        deployment_name,
                        probe,
                    )

    def test_termination_grace_covers_the_shutdown_grace(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        """A job stage must have CALCWIRE_SHUTDOWN_GRACE_SECONDS to finish or hand its message back."""
        for overlay, objects in manifest_sets.items():
            maps = config_maps(objects)
            for deployment_name in SERVICES:
                deployment = one(objects, "Deployment", deployment_name)
                (container,) = containers(deployment)
                grace = float(env_of(container, maps)["CALCWIRE_SHUTDOWN_GRACE_SECONDS"])
                pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
                assert pre_stop[0] == "sleep"
                needed = int(pre_stop[1]) + grace + CLOSING_SECONDS
                assert pod_spec(deployment)["terminationGracePeriodSeconds"] >= needed + 5, (
                    overlay,
                    deployment_name,
                )

    def test_configuration_is_production_and_only_variables_the_runtime_reads(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        known = {
            "CALCWIRE_ENV",
            "CALCWIRE_LOG_LEVEL",
            "CALCWIRE_LISTEN",
            "CALCWIRE_DB_POOL_MIN",
            "CALCWIRE_DB_POOL_MAX",
            "CALCWIRE_IMPORT_TARGET",
            "CALCWIRE_EVAL_TARGET",
            "CALCWIRE_VALIDATION_TARGET",
            "CALCWIRE_SHUTDOWN_GRACE_SECONDS",
            "CALCWIRE_HEALTH_INTERVAL_SECONDS",
            "CALCWIRE_MAX_MESSAGE_BYTES",
            "CALCWIRE_ROLE",
        }
        try:
            from calcwire.config import VARIABLES  # type: ignore[import-not-found,unused-ignore]
        except ImportError:  # the runtime has not landed in this branch yet: PLATFORM.md's table
            pass
        else:
            assert known <= set(VARIABLES), (
                "a variable of PLATFORM.md is missing from calcwire.config"
            )
            known = set(VARIABLES)
        for overlay, objects in manifest_sets.items():
            maps = config_maps(objects)
            for deployment_name in SERVICES:
                (container,) = containers(one(objects, "Deployment", deployment_name))
                environment = env_of(container, maps)
                assert environment["CALCWIRE_ENV"] == "production"
                unknown = {v for v in environment if v.startswith("CALCWIRE_")} - known
                assert not unknown, (
                    f"{overlay}/{deployment_name}: variables no one reads: {unknown}"
                )
                for variable in environment:
                    assert variable not in SECRET_KEYS, (
                        f"{variable} must come from a Secret, not a ConfigMap"
                    )

    def test_configuration_changes_roll_the_pods(self, renders: dict[str, list[Obj]]) -> None:
        """ConfigMaps are generated with a content hash in their names."""
        for overlay, objects in renders.items():
            for config_map in of_kind(objects, "ConfigMap"):
                assert base_name(name(config_map)) != name(config_map), (overlay, name(config_map))

    def test_every_service_has_a_pod_disruption_budget(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in manifest_sets.items():
            budgets = of_kind(objects, "PodDisruptionBudget")
            for workload in of_kind(objects, "Deployment"):
                covering = [
                    b for b in budgets if matches(b["spec"]["selector"], pod_labels(workload))
                ]
                assert len(covering) == 1, (overlay, name(workload))
                assert covering[0]["spec"].get("maxUnavailable") == 1


class TestSecrets:
    def test_services_read_the_three_secrets_from_calcwire_secrets(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in manifest_sets.items():
            for deployment_name in SERVICES:
                (container,) = containers(one(objects, "Deployment", deployment_name))
                refs = secret_refs(container)
                assert {base_name(secret) for secret, _ in refs} == {"calcwire-secrets"}
                assert {key for _, key in refs} == SERVICE_SECRET_KEYS[deployment_name], (
                    overlay,
                    deployment_name,
                )

    def test_dev_generates_clearly_fake_secrets_that_the_pods_find(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        for overlay in ("dev", "dev-keda"):
            objects = overlays[overlay]
            secrets = {name(s): s for s in of_kind(objects, "Secret")}
            for label, container in all_containers(objects):
                for secret, key in secret_refs(container):
                    assert secret in secrets, (
                        f"{overlay}: {label} reads a Secret {secret} that is not there"
                    )
                    assert key is None or key in secrets[secret]["data"], (overlay, label, key)
            calcwire_secrets = [s for s in secrets if base_name(s) == "calcwire-secrets"]
            assert len(calcwire_secrets) == 1
            values = secret_values(objects, "calcwire-secrets")
            assert set(values) == SECRET_KEYS
            assert "dev-only-insecure" in values["CALCWIRE_INTERNAL_SECRET"]
            assert "dev-only-insecure" in (urlsplit(values["DATABASE_URL"]).password or "")

    def test_prod_holds_no_secret_and_expects_calcwire_secrets(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        objects = overlays["prod"]
        assert of_kind(objects, "Secret") == []
        for label, container in all_containers(objects):
            assert {secret for secret, _ in secret_refs(container)} == {"calcwire-secrets"}, label


class TestDevDependencies:
    """The dev overlay's PostgreSQL and NATS, and the URLs that point at them."""

    def test_stateful_sets_keep_their_data_on_volume_claims(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        objects = overlays["dev"]
        for set_name, mount in (("postgres", "/var/lib/postgresql/data"), ("nats", "/data")):
            stateful_set = one(objects, "StatefulSet", set_name)
            (claim,) = stateful_set["spec"]["volumeClaimTemplates"]
            (container,) = containers(stateful_set)
            assert {"name": claim["metadata"]["name"], "mountPath": mount} in container[
                "volumeMounts"
            ]
            service = one(objects, "Service", stateful_set["spec"]["serviceName"])
            assert service["spec"].get("clusterIP") == "None"
            assert matches({"matchLabels": service["spec"]["selector"]}, pod_labels(stateful_set))

    def test_database_url_points_at_the_dev_postgres(self, overlays: dict[str, list[Obj]]) -> None:
        objects = overlays["dev"]
        url = urlsplit(secret_values(objects, "calcwire-secrets")["DATABASE_URL"])
        credentials = secret_values(objects, "postgres-credentials")
        assert url.hostname == "postgres.calcwire-dev.svc.cluster.local"
        assert url.port in [p["port"] for p in one(objects, "Service", "postgres")["spec"]["ports"]]
        assert (url.username, url.password, url.path.lstrip("/")) == (
            credentials["POSTGRES_USER"],
            credentials["POSTGRES_PASSWORD"],
            credentials["POSTGRES_DB"],
        )

    def test_nats_url_points_at_the_dev_nats_with_jetstream(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        objects = overlays["dev"]
        url = urlsplit(secret_values(objects, "calcwire-secrets")["NATS_URL"])
        assert url.hostname == "nats.calcwire-dev.svc.cluster.local"
        assert url.port in [p["port"] for p in one(objects, "Service", "nats")["spec"]["ports"]]
        nats_conf = next(iter(one_config(objects, "nats-config").values()))
        assert re.search(r"^jetstream\s*\{", nats_conf, re.MULTILINE)
        assert re.search(rf"^port:\s*{url.port}$", nats_conf, re.MULTILINE)

    def test_postgres_accepts_every_pool_at_its_largest(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        """Sum over pods of CALCWIRE_DB_POOL_MAX, the autoscaler's maximum included."""
        objects = overlays["dev"]
        maps = config_maps(objects)
        autoscalers = {
            a["spec"]["scaleTargetRef"]["name"]: a
            for a in of_kind(objects, "HorizontalPodAutoscaler")
        }
        connections = 0
        for deployment_name in SERVICES:
            deployment = one(objects, "Deployment", deployment_name)
            (container,) = containers(deployment)
            pods = (
                autoscalers[deployment_name]["spec"]["maxReplicas"]
                if deployment_name in autoscalers
                else deployment["spec"]["replicas"]
            )
            # During a rolling update maxSurge adds a pod.
            connections += (pods + 1) * int(env_of(container, maps)["CALCWIRE_DB_POOL_MAX"])
        (postgres,) = containers(one(objects, "StatefulSet", "postgres"))
        (setting,) = [arg for arg in postgres["args"] if arg.startswith("max_connections=")]
        max_connections = int(setting.partition("=")[2])
        # Room left for superuser connections and a psql session.
        assert connections + 10 <= max_connections, (connections, max_connections)


def one_config(objects: list[Obj], config: str) -> dict[str, str]:
    (found,) = [c for c in of_kind(objects, "ConfigMap") if base_name(name(c)) == config]
    data: dict[str, str] = found["data"]
    return data


def secret_values(objects: list[Obj], secret: str) -> dict[str, str]:
    (found,) = [s for s in of_kind(objects, "Secret") if base_name(name(s)) == secret]
    return {key: base64.b64decode(value).decode() for key, value in found["data"].items()}


class TestLoadBalancing:
    """The gateway reaches each backend through a headless Service, so it sees every pod."""

    def test_backend_targets_name_headless_services_in_the_overlay_namespace(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        pattern = re.compile(
            r"^dns:///(?P<service>[a-z0-9-]+)\.(?P<namespace>[a-z0-9-]+)\.svc\.cluster\.local:"
            r"(?P<port>\d+)$"
        )
        for overlay, objects in overlays.items():
            maps = config_maps(objects)
            for client in ("gateway", *BACKENDS):
                (container,) = containers(one(objects, "Deployment", client))
                environment = env_of(container, maps)
                for variable, backend in TARGET_VARIABLES.items():
                    assert variable in environment, f"{overlay}: {client} has no {variable}"
                    target = pattern.match(environment[variable])
                    assert target, f"{overlay}/{client}: {variable}={environment[variable]!r}"
                    assert target["namespace"] == OVERLAY_NAMESPACES[overlay]
                    service = one(objects, "Service", target["service"])
                    assert service["spec"].get("clusterIP") == "None", (
                        f"{target['service']} is not headless"
                    )
                    backend_deployment = one(objects, "Deployment", backend)
                    assert matches(
                        {"matchLabels": service["spec"]["selector"]}, pod_labels(backend_deployment)
                    )
                    # Headless: the client dials the pod's port itself, so it must be the container's.
                    (backend_container,) = containers(backend_deployment)
                    assert int(target["port"]) == backend_container["ports"][0]["containerPort"]
                    assert int(target["port"]) in [p["port"] for p in service["spec"]["ports"]]

    def test_every_backend_service_is_headless(self, manifest_sets: dict[str, list[Obj]]) -> None:
        for overlay, objects in manifest_sets.items():
            for backend in BACKENDS:
                services = [
                    s
                    for s in of_kind(objects, "Service")
                    if matches(
                        {"matchLabels": s["spec"].get("selector", {})},
                        pod_labels(one(objects, "Deployment", backend)),
                    )
                ]
                assert services, f"{overlay}: no Service for {backend}"
                for service in services:
                    assert service["spec"].get("clusterIP") == "None", (overlay, name(service))


class TestExposure:
    """Only the gateway can be reached from outside the cluster."""

    def externally_reachable(self, objects: list[Obj]) -> Iterator[Obj]:
        for service in of_kind(objects, "Service"):
            spec = service["spec"]
            if spec.get("type") in ("LoadBalancer", "NodePort") or spec.get("externalIPs"):
                yield service

    def test_only_the_gateway_has_an_external_service(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in manifest_sets.items():
            for service in self.externally_reachable(objects):
                selected = [
                    name(w)
                    for w in workloads(objects)
                    if matches({"matchLabels": service["spec"]["selector"]}, pod_labels(w))
                ]
                assert selected == ["gateway"], (
                    f"{overlay}: Service {name(service)} exposes {selected}"
                )
            for kind in ("Ingress", "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute"):
                assert of_kind(objects, kind) == [], f"{overlay}: a {kind} is not expected"

    def test_prod_exposes_the_gateway_through_a_load_balancer(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        assert [name(s) for s in self.externally_reachable(overlays["prod"])] == ["gateway"]
        for overlay in ("dev", "dev-keda"):
            assert list(self.externally_reachable(overlays[overlay])) == []


class TestNetworkPolicies:
    """Ingress is denied by default; each workload admits exactly the peers it needs."""

    # workload -> names of the workloads that may connect to it (in the namespace),
    # and of the namespaces allowed in whole.
    EXPECTED: ClassVar[dict[str, tuple[set[str], set[str]]]] = {
        "import-svc": ({"gateway", "eval-svc", "validation-svc"}, set()),
        "eval-svc": ({"gateway", "validation-svc"}, set()),
        "validation-svc": ({"gateway", "import-svc"}, set()),
        "postgres": (set(SERVICES), set()),
        "nats": (set(BACKENDS), {"keda"}),
    }

    def admitted(self, objects: list[Obj], target: Obj) -> tuple[set[str], set[str], list[Obj]]:
        """Peers admitted to ``target``: workload names, namespace names, and rules open to all."""
        peers: set[str] = set()
        namespaces: set[str] = set()
        open_rules: list[Obj] = []
        for policy in of_kind(objects, "NetworkPolicy"):
            spec = policy["spec"]
            if "Ingress" not in spec.get("policyTypes", ["Ingress"]) or not matches(
                spec["podSelector"], pod_labels(target)
            ):
                continue
            for rule in spec.get("ingress", []):
                if not rule.get("from"):
                    open_rules.append(rule)
                for peer in rule.get("from", []):
                    assert "ipBlock" not in peer, f"{name(policy)}: ipBlock peers are not expected"
                    if "namespaceSelector" in peer:
                        assert "podSelector" not in peer
                        namespaces.update(peer["namespaceSelector"]["matchLabels"].values())
                    else:
                        peers.update(
                            name(w)
                            for w in workloads(objects)
                            if matches(peer["podSelector"], pod_labels(w))
                        )
        return peers, namespaces, open_rules

    def test_default_deny_covers_every_pod(self, manifest_sets: dict[str, list[Obj]]) -> None:
        for overlay, objects in manifest_sets.items():
            deny = [
                p
                for p in of_kind(objects, "NetworkPolicy")
                if p["spec"]["podSelector"] == {}
                and p["spec"]["policyTypes"] == ["Ingress"]
                and not p["spec"].get("ingress")
            ]
            assert len(deny) == 1, overlay

    def test_every_workload_admits_exactly_its_peers(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in manifest_sets.items():
            for workload in workloads(objects):
                workload_name = name(workload)
                peers, namespaces, open_rules = self.admitted(objects, workload)
                if workload_name == "gateway":
                    assert open_rules == [{"ports": [{"protocol": "TCP", "port": 50051}]}], overlay
                    continue
                assert workload_name in self.EXPECTED, (
                    f"{overlay}: no expectation for {workload_name}"
                )
                assert open_rules == [], f"{overlay}: {workload_name} is open to every source"
                assert (peers, namespaces) == self.EXPECTED[workload_name], (overlay, workload_name)

    def test_every_backend_is_covered(self, manifest_sets: dict[str, list[Obj]]) -> None:
        for overlay, objects in manifest_sets.items():
            policies = of_kind(objects, "NetworkPolicy")
            for backend in BACKENDS:
                deployment = one(objects, "Deployment", backend)
                own = [
                    p
                    for p in policies
                    if p["spec"]["podSelector"]
                    and matches(p["spec"]["podSelector"], pod_labels(deployment))
                ]
                assert own, f"{overlay}: no NetworkPolicy of its own for {backend}"
                ports = {
                    port["port"]
                    for p in own
                    for rule in p["spec"]["ingress"]
                    for port in rule["ports"]
                }
                assert ports == {SERVICE_PORTS[backend]}


class TestScaling:
    def test_eval_workers_scale_on_cpu(self, manifest_sets: dict[str, list[Obj]]) -> None:
        for overlay, objects in manifest_sets.items():
            if overlay == "dev-keda":  # KEDA's autoscaler replaces it there (test below)
                continue
            (autoscaler,) = of_kind(objects, "HorizontalPodAutoscaler")
            spec = autoscaler["spec"]
            assert spec["scaleTargetRef"] == {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "eval-svc",
            }
            (metric,) = spec["metrics"]
            assert metric["resource"]["name"] == "cpu"
            assert 1 <= spec["minReplicas"] < spec["maxReplicas"]
            # The autoscaler owns the count: a replicas field would reset it on every apply.
            assert "replicas" not in one(objects, "Deployment", "eval-svc")["spec"], overlay

    def test_the_other_services_have_fixed_replicas(
        self, manifest_sets: dict[str, list[Obj]]
    ) -> None:
        for overlay, objects in manifest_sets.items():
            for deployment_name in ("gateway", "import-svc", "validation-svc"):
                assert one(objects, "Deployment", deployment_name)["spec"]["replicas"] >= 1, overlay

    def test_prod_runs_at_least_two_of_each(self, overlays: dict[str, list[Obj]]) -> None:
        for deployment_name in ("gateway", "import-svc", "validation-svc"):
            assert one(overlays["prod"], "Deployment", deployment_name)["spec"]["replicas"] >= 2

    def test_keda_scales_eval_on_the_eval_worker_consumer_lag(
        self, overlays: dict[str, list[Obj]]
    ) -> None:
        objects = overlays["dev-keda"]
        assert of_kind(objects, "HorizontalPodAutoscaler") == [], (
            "KEDA's own autoscaler replaces the CPU one"
        )
        scaled = one(objects, "ScaledObject", "eval-svc")
        spec = scaled["spec"]
        assert spec["scaleTargetRef"]["name"] == "eval-svc"
        assert spec["minReplicaCount"] >= 1, (
            "eval-svc also serves Calculate calls: never scale it to zero"
        )
        (jetstream,) = [t for t in spec["triggers"] if t["type"] == "nats-jetstream"]
        metadata = jetstream["metadata"]
        assert (metadata["stream"], metadata["consumer"], metadata["account"]) == (
            "CALCWIRE_WORK",
            "eval-worker",
            "$G",
        )
        assert int(metadata["lagThreshold"]) >= 1
        host, _, port = metadata["natsServerMonitoringEndpoint"].partition(":")
        assert host == f"nats.{OVERLAY_NAMESPACES['dev-keda']}.svc.cluster.local"
        assert int(port) in [p["port"] for p in one(objects, "Service", "nats")["spec"]["ports"]]
