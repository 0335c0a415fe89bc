"""``calcwire jobs list|show|watch|cancel``: the tenant's jobs, through the gateway.

``watch`` follows a job to its end with the progress bar of ``calcwire
import`` (and its Ctrl-C question); its exit status says how the job ended: 0
succeeded, 2 failed because of its input (a workbook that cannot be parsed),
3 failed otherwise or was cancelled.
"""

from __future__ import annotations

import argparse

from calcwire import errors
from calcwire.cli.client import connect, connection_options, job_ref, model_ref
from calcwire.cli.output import (
    StageProgress,
    job_json,
    job_line,
    kind_name,
    print_json,
    print_table,
    stage_name,
    state_name,
    timestamp_text,
)
from calcwire.cli.watch import follow_job, job_outcome
from calcwire.jobs.v1 import jobs_pb2

__all__ = ["register"]

_LIST_PAGE = 1000


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    jobs = subparsers.add_parser(
        "jobs", help="list, show, watch and cancel jobs",
        description="The jobs (imports, evaluations, validations) of the API key's tenant. "
        "Exit status: 0 done, 2 bad input or unknown job, 3 the services failed or cannot "
        "be reached; `watch` also 2 or 3 when the job failed, 3 when it was cancelled.",
    )
    commands = jobs.add_subparsers(dest="jobs_command", metavar="COMMAND", required=True)
    common = connection_options()

    listing = commands.add_parser("list", parents=[common], help="list jobs, newest first")
    listing.add_argument("--model", default=None, metavar="MODEL", help="only this model's")
    listing.add_argument("--state", default=None, metavar="STATE",
                         choices=["queued", "running", "succeeded", "failed", "cancelled"],
                         help="only jobs in this state")
    listing.add_argument("--kind", default=None, choices=["import", "evaluate", "validate"],
                         help="only jobs of this kind")
    listing.add_argument("--limit", type=int, default=100, metavar="N",
                         help="at most N jobs (default %(default)s)")
    listing.set_defaults(run=_list)

    for name, run, text in (
        ("show", _show, "a job"),
        ("watch", _watch, "follow a job to its end, with its progress"),
        ("cancel", _cancel, "ask a job to stop"),
    ):
        command = commands.add_parser(name, parents=[common], help=text)
        command.add_argument("job", metavar="JOB", help="jobs/<id> or the id")
        command.set_defaults(run=run)


def _filter(args: argparse.Namespace) -> str:
    conditions = []
    if args.model:
        conditions.append(f'model = "{model_ref(args.model)}"')
    if args.state:
        conditions.append(f"state = {args.state.upper()}")
    if args.kind:
        conditions.append(f"kind = {args.kind.upper()}")
    return " AND ".join(conditions)


def _list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise errors.InvalidArgument("--limit must be at least 1", reason="INVALID_LIMIT")
    jobs: list[jobs_pb2.Job] = []
    with connect(args) as connection:
        token = ""
        while len(jobs) < args.limit:
            page = connection.jobs.ListJobs(
                jobs_pb2.ListJobsRequest(page_size=min(_LIST_PAGE, args.limit - len(jobs)),
                                         page_token=token, filter=_filter(args)),
                metadata=connection.metadata, timeout=connection.timeout)
            jobs.extend(page.jobs)
            token = page.next_page_token
            if not token:
                break
    if args.json:
        print_json({"jobs": [job_json(j) for j in jobs]})
        return 0
    if not jobs:
        print("no jobs")
        return 0
    rows = [("JOB", "KIND", "STATE", "STAGE", "%", "CREATED", "MODEL")]
    for job in jobs:
        rows.append((job.name, kind_name(job.kind), state_name(job.state), stage_name(job.stage),
                     f"{job.percent:.0f}",
                     (timestamp_text(job.create_time) or "-")[:19].replace("T", " "), job.model))
    print_table(rows)
    return 0


def _show(args: argparse.Namespace) -> int:
    with connect(args) as connection:
        job = connection.jobs.GetJob(jobs_pb2.GetJobRequest(name=job_ref(args.job)),
                                     metadata=connection.metadata,
                                     timeout=connection.timeout).job
    print_json(job_json(job)) if args.json else print(job_line(job))
    return 0


def _cancel(args: argparse.Namespace) -> int:
    with connect(args) as connection:
        job = connection.jobs.CancelJob(jobs_pb2.CancelJobRequest(name=job_ref(args.job)),
                                        metadata=connection.metadata,
                                        timeout=connection.timeout).job
    print_json(job_json(job)) if args.json else print(job_line(job))
    return 0


def _watch(args: argparse.Namespace) -> int:
    with connect(args) as connection:
        job = follow_job(connection, job_ref(args.job), StageProgress(quiet=args.quiet))
    print_json(job_json(job)) if args.json else print(job_line(job))
    job_outcome(job)
    return 0
