"""Each runtime module says what it exports, and exports what it defines."""

from __future__ import annotations

import importlib
import inspect

import pytest

MODULES = [
    "calcwire.cli.admin",
    "calcwire.cli.calc",
    "calcwire.cli.cells",
    "calcwire.cli.client",
    "calcwire.cli.importing",
    "calcwire.cli.jobs",
    "calcwire.cli.models",
    "calcwire.cli.output",
    "calcwire.cli.report",
    "calcwire.cli.watch",
    "calcwire.config",
    "calcwire.db",
    "calcwire.devstack",
    "calcwire.filtering",
    "calcwire.grpc_errors",
    "calcwire.health_client",
    "calcwire.internal_auth",
    "calcwire.internal_client",
    "calcwire.job_events",
    "calcwire.logs",
    "calcwire.messaging",
    "calcwire.names",
    "calcwire.paging",
    "calcwire.server",
    "calcwire.tenancy",
    "calcwire.tls",
    "calcwire.value_columns",
    "calcwire.wire",
    "calcwire.work",
    "calcwire.workbook.data_tables",
    "gateway.app",
    "gateway.auth",
    "gateway.backend_health",
    "gateway.keys",
    "gateway.limits",
    "gateway.proxy",
    "gateway.routes",
    "gateway.store",
    "import_svc.backends",
    "import_svc.catalog",
    "import_svc.domain",
    "import_svc.files",
    "import_svc.importer",
    "import_svc.jobs",
    "import_svc.server",
    "import_svc.store",
    "import_svc.upload",
    "import_svc.worker",
]


class TestExports:
    @pytest.mark.parametrize("name", MODULES)
    def test_all_names_exist(self, name: str) -> None:
        module = importlib.import_module(name)
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert missing == []

    @pytest.mark.parametrize("name", MODULES)
    def test_public_functions_and_classes_are_exported(self, name: str) -> None:
        module = importlib.import_module(name)
        defined = {
            n
            for n, obj in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(obj) or inspect.isclass(obj))
            and obj.__module__ == module.__name__
        }
        assert defined - set(module.__all__) == set()
