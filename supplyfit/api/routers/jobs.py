"""Stage jobs: start one (writers), poll it, list the tenant's jobs."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam

from ..errors import errors
from ..jobs import Job, JobRequest, run_job
from ..service import Ctx, WriterCtx

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"], responses=errors(401, 422, 429))


@router.post("", response_model=Job, status_code=202, responses=errors(403, 413))
def start_job(req: JobRequest, ctx: WriterCtx) -> Job:
    """Run a stage (or all) in the background; poll `GET /api/v1/jobs/{job_id}` for progress."""
    job = ctx.service.jobs.add(ctx.who.tenant, req.stage)
    threading.Thread(
        target=run_job, args=(ctx.service, job, ctx.who.tenant), daemon=True, name=f"supplyfit-job-{job.job_id}"
    ).start()
    return job


@router.get("", response_model=list[Job])
def list_jobs(ctx: Ctx) -> list[Job]:
    """This tenant's jobs, newest first, with ISO 8601 (UTC) times."""
    return ctx.service.jobs.of(ctx.who.tenant)


@router.get("/{job_id}", response_model=Job, responses=errors(404))
def job(job_id: Annotated[str, PathParam(max_length=40)], ctx: Ctx) -> Job:
    found = ctx.service.jobs.get(ctx.who.tenant, job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id!r}")
    return found
