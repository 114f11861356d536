"""Stage jobs: run in the background one at a time (under the write lock), polled by id, listed per tenant.

A failed job keeps a one-line message (no server paths) and its traceback goes to the log, with the job id.
The board keeps the most recent ``max_jobs`` jobs; older finished ones are forgotten first.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from collections import OrderedDict
from typing import Literal

from pydantic import BaseModel, Field

from .errors import scrub_paths

log = logging.getLogger("supplyfit.api")
Stage = Literal["voice", "demand", "supply", "match", "trust", "monitor", "all"]


class JobRequest(BaseModel):
    stage: Stage = Field(description="Stage to run in the background; 'all' runs every stage in chain order.")


class Job(BaseModel):
    job_id: str
    stage: str
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1)
    message: str = ""
    created: dt.datetime = Field(description="ISO 8601, UTC")
    started: dt.datetime | None = None
    finished: dt.datetime | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class JobBoard:
    """Jobs by id with their tenant; thread-safe."""

    def __init__(self, max_jobs: int = 1000):
        self.max_jobs, self.closed = max_jobs, False
        self._jobs: OrderedDict[str, tuple[str, Job]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, tenant: str, stage: str) -> Job:
        job = Job(job_id=uuid.uuid4().hex[:12], stage=stage, status="queued", progress=0.0, created=_now())
        with self._lock:
            self._jobs[job.job_id] = (tenant, job)
            over = len(self._jobs) - self.max_jobs
            for old in [j for j, (_, x) in self._jobs.items() if x.status in ("done", "failed")][: max(over, 0)]:
                del self._jobs[old]
        return job

    def get(self, tenant: str, job_id: str) -> Job | None:
        with self._lock:
            owner, job = self._jobs.get(job_id, (None, None))
            return job.model_copy() if job is not None and owner == tenant else None

    def of(self, tenant: str) -> list[Job]:
        """The tenant's jobs, newest first."""
        with self._lock:
            return [job.model_copy() for owner, job in reversed(self._jobs.values()) if owner == tenant]

    def update(self, job: Job, **changes: object) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)


def run_job(service, job: Job, tenant: str) -> None:
    """Run ``job``'s stage(s) for ``tenant`` (on a thread of its own); see the module docstring."""
    from ..pipeline import stages

    board = service.jobs
    chosen = [(n, f) for n, f in stages() if job.stage in ("all", n)]
    progress = iter(range(1, len(chosen) + 1))

    def chain(store) -> None:
        if board.closed:
            raise RuntimeError("the server is shutting down")
        board.update(job, status="running", started=_now())
        for name, fn in chosen:
            board.update(job, message=f"running {name}")
            board.update(job, message=f"{name}: {fn(store)}", progress=next(progress) / len(chosen))
            service.results.clear(tenant)

    try:
        service.write(tenant, chain)
        board.update(job, status="done", finished=_now())
    except Exception as e:  # reported through the job and the log; the server keeps serving
        log.exception("job_id=%s tenant=%s stage=%s failed", job.job_id, tenant, job.stage)
        board.update(
            job, status="failed", finished=_now(), message=scrub_paths(f"{job.message}: {type(e).__name__}: {e}")[:1000]
        )
