"""The speech worker runs what a caller is waiting for first, drops what nobody waits for any more."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from voicebot.pipeline.worker import SOON, SPARE, URGENT, PriorityWorker


class Jobs:
    """Jobs that record the order they ran in; "busy" holds the thread until `release()`, so others queue up."""

    def __init__(self) -> None:
        self.worker = PriorityWorker("test")
        self.ran: list[str] = []
        self._gate = threading.Event()

    def job(self, name: str) -> str:
        if name == "busy":
            self._gate.wait(5)
        self.ran.append(name)
        if name == "broken":
            raise ValueError("model file damaged")
        return name

    def release(self) -> None:
        self._gate.set()


@pytest.fixture
def jobs() -> Iterator[Jobs]:
    jobs = Jobs()
    yield jobs
    jobs.release()
    jobs.worker.close()


async def test_a_waiting_callers_job_overtakes_jobs_with_slack(jobs: Jobs) -> None:
    busy = asyncio.create_task(jobs.worker.run(URGENT, jobs.job, "busy"))
    await asyncio.sleep(0.05)
    queued = [asyncio.create_task(jobs.worker.run(p, jobs.job, name)) for p, name in
              [(SPARE, "speculation"), (SOON, "second sentence A"), (URGENT, "first sentence B"),
               (SOON, "second sentence B")]]
    await asyncio.sleep(0.05)
    jobs.release()
    await asyncio.gather(busy, *queued)

    assert jobs.ran == ["busy", "first sentence B", "second sentence A", "second sentence B", "speculation"]


async def test_a_cancelled_job_never_runs_and_errors_reach_the_caller(jobs: Jobs) -> None:
    busy = asyncio.create_task(jobs.worker.run(URGENT, jobs.job, "busy"))
    await asyncio.sleep(0.05)
    stale = asyncio.create_task(jobs.worker.run(SPARE, jobs.job, "stale"))
    broken = asyncio.create_task(jobs.worker.run(URGENT, jobs.job, "broken"))
    await asyncio.sleep(0.05)
    stale.cancel()  # e.g. the caller spoke again: the speculation is useless now
    await asyncio.sleep(0.05)  # the cancellation reaches the queued job through the event loop
    jobs.release()
    await busy
    with pytest.raises(ValueError, match="damaged"):
        await broken

    assert jobs.ran == ["busy", "broken"]
    jobs.worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        await jobs.worker.run(URGENT, jobs.job, "late")


async def test_jobs_still_waiting_when_the_worker_stops_fail_instead_of_hanging(jobs: Jobs) -> None:
    busy = jobs.worker.submit(URGENT, jobs.job, "busy")
    await asyncio.sleep(0.05)
    second_sentence = asyncio.create_task(jobs.worker.run(SOON, jobs.job, "second sentence"))
    await asyncio.sleep(0.05)
    jobs.worker.close()  # e.g. the model process is shutting down mid-reply
    jobs.release()

    assert await busy.result() == "busy"  # the job already running finishes
    # An error the speaker turns into a hand-over; a cancellation would end its reply silently.
    with pytest.raises(RuntimeError, match="worker is closed"):
        await asyncio.wait_for(second_sentence, 2)
    assert jobs.ran == ["busy"]


async def test_a_promoted_speculation_runs_once_ahead_of_work_with_slack(jobs: Jobs) -> None:
    busy = jobs.worker.submit(URGENT, jobs.job, "busy")
    await asyncio.sleep(0.05)
    speculation = jobs.worker.submit(SPARE, jobs.job, "speculation")
    later = jobs.worker.submit(SOON, jobs.job, "second sentence")
    speculation.promote(URGENT)  # the turn ended as it was: the caller now waits for this text
    jobs.release()
    results = await asyncio.gather(busy.result(), speculation.result(), later.result())
    await asyncio.sleep(0.05)  # let the worker skip the job's old, spare entry

    assert results == ["busy", "speculation", "second sentence"]
    assert jobs.ran == ["busy", "speculation", "second sentence"]  # run once, not again from its spare entry
