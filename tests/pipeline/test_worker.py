"""The speech worker runs what a caller is waiting for first, drops what nobody waits for any more."""

from __future__ import annotations

import asyncio
import threading

import pytest

from voicebot.pipeline.worker import SOON, SPARE, URGENT, PriorityWorker


async def test_a_waiting_callers_job_overtakes_jobs_with_slack() -> None:
    worker = PriorityWorker("test")
    gate = threading.Event()
    ran: list[str] = []

    def job(name: str) -> str:
        if name == "busy":
            gate.wait(5)  # holds the thread while the others queue up behind it
        ran.append(name)
        return name

    busy = asyncio.create_task(worker.run(URGENT, job, "busy"))
    await asyncio.sleep(0.05)
    queued = [asyncio.create_task(worker.run(p, job, name)) for p, name in
              [(SPARE, "speculation"), (SOON, "second sentence A"), (URGENT, "first sentence B"),
               (SOON, "second sentence B")]]
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(busy, *queued)
    worker.close()

    assert ran == ["busy", "first sentence B", "second sentence A", "second sentence B", "speculation"]


async def test_a_cancelled_job_never_runs_and_errors_reach_the_caller() -> None:
    worker = PriorityWorker("test")
    gate = threading.Event()
    ran: list[str] = []

    def job(name: str) -> None:
        if name == "busy":
            gate.wait(5)
        ran.append(name)
        if name == "broken":
            raise ValueError("model file damaged")

    busy = asyncio.create_task(worker.run(URGENT, job, "busy"))
    await asyncio.sleep(0.05)
    stale = asyncio.create_task(worker.run(SPARE, job, "stale"))
    broken = asyncio.create_task(worker.run(URGENT, job, "broken"))
    await asyncio.sleep(0.05)
    stale.cancel()  # e.g. the caller spoke again: the speculation is useless now
    await asyncio.sleep(0.05)  # the cancellation reaches the queued job through the event loop
    gate.set()
    await busy
    with pytest.raises(ValueError, match="damaged"):
        await broken
    worker.close()

    assert ran == ["busy", "broken"]
    with pytest.raises(RuntimeError, match="closed"):
        await worker.run(URGENT, job, "late")


async def test_a_promoted_speculation_runs_once_ahead_of_work_with_slack() -> None:
    worker = PriorityWorker("test")
    gate = threading.Event()
    ran: list[str] = []

    def job(name: str) -> str:
        if name == "busy":
            gate.wait(5)
        ran.append(name)
        return name

    busy = worker.submit(URGENT, job, "busy")
    await asyncio.sleep(0.05)
    speculation = worker.submit(SPARE, job, "speculation")
    later = worker.submit(SOON, job, "second sentence")
    speculation.promote(URGENT)  # the turn ended as it was: the caller now waits for this text
    gate.set()
    results = await asyncio.gather(busy.result(), speculation.result(), later.result())
    await asyncio.sleep(0.05)  # let the worker skip the job's old, spare entry
    worker.close()

    assert results == ["busy", "speculation", "second sentence"]
    assert ran == ["busy", "speculation", "second sentence"]  # run once, not again from its spare entry
