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


class Gates:
    """Jobs held until released one by one by name, so a test decides what is still running."""

    def __init__(self, threads: int) -> None:
        self.worker = PriorityWorker("test", threads=threads)
        self.started: list[str] = []
        self._gates: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def gate(self, name: str) -> threading.Event:
        with self._lock:
            return self._gates.setdefault(name, threading.Event())

    def release(self, *names: str) -> None:
        for name in names:
            self.gate(name).set()

    def job(self, name: str) -> str:
        with self._lock:
            self.started.append(name)
        self.gate(name).wait(5)
        return name


async def _until(check, timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_two_threads_run_two_callers_turns_at_once() -> None:
    gates = Gates(threads=2)
    a = gates.worker.submit(URGENT, gates.job, "turn A")
    b = gates.worker.submit(URGENT, gates.job, "turn B")
    await _until(lambda: len(gates.started) == 2)  # both running although neither has finished
    gates.release("turn A", "turn B")
    assert await asyncio.gather(a.result(), b.result()) == ["turn A", "turn B"]
    gates.worker.close()


async def test_speculation_never_takes_the_last_free_thread() -> None:
    # Two calls pause at once: one speculation runs, the other waits, so the finished turn that comes next
    # starts at once instead of waiting for a whole speculative transcription.
    gates = Gates(threads=2)
    s1 = gates.worker.submit(SPARE, gates.job, "speculation A")
    s2 = gates.worker.submit(SPARE, gates.job, "speculation B")
    await _until(lambda: len(gates.started) == 1)
    await asyncio.sleep(0.1)
    assert gates.started == ["speculation A"]
    turn = gates.worker.submit(URGENT, gates.job, "finished turn C")
    await _until(lambda: "finished turn C" in gates.started)
    assert "speculation B" not in gates.started
    gates.release("finished turn C", "speculation A", "speculation B")
    assert await asyncio.gather(turn.result(), s1.result(), s2.result()) == [
        "finished turn C", "speculation A", "speculation B"]
    gates.worker.close()


async def test_the_wait_of_urgent_jobs_is_measured() -> None:
    gates = Gates(threads=1)
    busy = gates.worker.submit(URGENT, gates.job, "busy")
    await _until(lambda: gates.started == ["busy"])
    waiting = gates.worker.submit(URGENT, gates.job, "waiting turn")
    await asyncio.sleep(0.3)
    assert gates.worker.queue_delay_s() >= 0.3  # a turn waiting now counts before it starts
    gates.release("busy", "waiting turn")
    await asyncio.gather(busy.result(), waiting.result())
    assert 0 < gates.worker.queue_delay_s() < 0.3  # smoothed: one slow turn does not stick at its full wait
    gates.worker.close()


async def test_an_abandoned_speculation_stops_holding_the_spare_thread() -> None:
    # The caller spoke again: the running speculation of their earlier pause is useless, the new one must not
    # wait for it to finish.
    gates = Gates(threads=2)
    stale = gates.worker.submit(SPARE, gates.job, "stale speculation")
    await _until(lambda: gates.started == ["stale speculation"])
    fresh = gates.worker.submit(SPARE, gates.job, "fresh speculation")
    await asyncio.sleep(0.1)
    assert "fresh speculation" not in gates.started
    stale.abandon()
    await _until(lambda: "fresh speculation" in gates.started)
    gates.release("stale speculation", "fresh speculation")
    assert await fresh.result() == "fresh speculation"
    gates.worker.close()


async def test_the_turn_wait_metric_counts_what_callers_wait_for_not_speculation(jobs: Jobs) -> None:
    waits: list[float] = []
    jobs.worker.on_urgent_wait = waits.append
    started = threading.Event()

    def speculation() -> str:
        started.set()
        return jobs.job("busy")

    busy = jobs.worker.submit(SPARE, speculation)  # a speculation holding the thread
    assert await asyncio.to_thread(started.wait, 10)
    turn = jobs.worker.submit(URGENT, jobs.job, "finished turn")  # queues behind it
    await asyncio.sleep(0.2)
    busy.promote(URGENT)  # the caller now waits for the speculation already running: no wait for a thread
    jobs.release()
    await asyncio.gather(busy.result(), turn.result())

    assert waits[0] == 0.0  # the promoted speculation, counted once, not the time it ran as spare work
    assert len(waits) == 2 and waits[1] >= 0.15  # the queued turn's wait, however long the machine took


async def test_the_first_piece_of_an_answer_never_waits_behind_later_pieces_on_two_tts_threads() -> None:
    # TTS's layout (tts.py): two threads, later pieces (SOON) on one of them at a time.
    worker = PriorityWorker("tts-test", threads=2, limited_from=SOON)
    gate, started = threading.Event(), []

    def piece(name: str) -> str:
        started.append(name)
        if name.startswith("later"):
            gate.wait(5)  # another caller's long sentence, still being synthesized
        return name

    try:
        later = [asyncio.create_task(worker.run(SOON, piece, f"later {i}")) for i in range(2)]
        await asyncio.sleep(0.05)
        first = await asyncio.wait_for(worker.run(URGENT, piece, "first piece"), 2)  # a thread was free for it
        assert first == "first piece"
        assert started == ["later 0", "first piece"], started  # the second later piece still waits its turn
        gate.set()
        await asyncio.gather(*later)
    finally:
        gate.set()
        worker.close()
