"""Replaying many histories against the current workflow code, as `claims audit replay` does.

Each process builds one `Replayer` and hands it a stream of histories
(`Replayer.workflow_replay_iterator`): while one history replays, the next few are read from
their files or fetched from the server (`AHEAD` at a time). Several processes (`--jobs`) share
the histories, each taking every n-th one. No process holds more than the few histories it has
fetched ahead, whatever the number of cases: results travel back as one short line each, each
process's through a queue of its own, and are handed on in the order the histories were given,
each taken from the process whose turn it is; a process that runs ahead of the others waits on
its full queue instead of its results piling up until the slowest catches up.

What a process needs from the engine (its replayer, the payload keys that read a file, the
connection to Temporal) comes in a `Toolkit` of module-level functions, which a process started
with `spawn` imports by name: the CLI passes the engine's, the benchmark its bare workflows'."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import queue
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHistory
    from temporalio.worker import Replayer

# Histories one process reads or fetches ahead of the one replaying: enough to hide the
# server's latency, few enough that memory stays flat.
AHEAD = 8
# With the default number of processes, each gets at least this many histories: starting a
# process (importing the workflows and the SDK) costs about as much as replaying them.
MIN_SHARE = 20


@dataclass(frozen=True)
class Source:
    """One history to replay: a history file, or a case on the server (its claim or complaint
    id, or its workflow id)."""

    file: Path | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class Replayed:
    """One history's outcome: its name (the file, or the workflow id) and, when it does not
    replay, the failure as `Type: message`."""

    index: int
    name: str
    failure: str | None


@dataclass(frozen=True)
class Toolkit:
    """The engine's parts a replaying process uses, as module-level functions (picklable)."""

    replayer: Callable[[], Replayer]
    load_file: Callable[[Path], WorkflowHistory]
    connect: Callable[[], Awaitable[Client]]
    resolve: Callable[[Client, str], Awaitable[str]]


def describe(failure: BaseException) -> str:
    return f"{type(failure).__name__}: {failure}"


def default_jobs(count: int) -> int:
    """The processes for `count` histories when none were asked for: the cores this process
    may use, fewer when there are not enough histories to keep them busy."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, count // MIN_SHARE))


class _Ahead:
    """A share's histories in their order, read or fetched `ahead` at a time."""

    def __init__(self, share: Iterable[tuple[int, Source]], tools: Toolkit, ahead: int) -> None:
        self.share = share
        self.tools = tools
        self.ahead = ahead
        self.client: asyncio.Task[Client] | None = None
        self.fetched: asyncio.Queue[tuple[int, str, WorkflowHistory] | BaseException | None]
        self.fetched = asyncio.Queue(maxsize=ahead)
        self.names: deque[tuple[int, str]] = deque()  # of the histories handed to the replayer
        self.error: BaseException | None = None

    async def get(self, source: Source) -> tuple[str, WorkflowHistory]:
        if source.file is not None:
            return str(source.file), await asyncio.to_thread(self.tools.load_file, source.file)
        assert source.case_id is not None
        if self.client is None:  # one connection, made when the first case is fetched
            self.client = asyncio.ensure_future(self.tools.connect())
        client = await self.client
        workflow_id = await self.tools.resolve(client, source.case_id)
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        return history.workflow_id, history

    async def produce(self) -> None:
        pending: deque[tuple[int, asyncio.Task[tuple[str, WorkflowHistory]]]] = deque()
        try:
            for index, source in self.share:
                pending.append((index, asyncio.ensure_future(self.get(source))))
                if len(pending) >= self.ahead:
                    index, task = pending.popleft()
                    await self.fetched.put((index, *await task))
            while pending:
                index, task = pending.popleft()
                await self.fetched.put((index, *await task))
            await self.fetched.put(None)
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            await self.fetched.put(exc)
        finally:  # stopped early: the fetches in flight are not wanted any more
            for _, task in pending:
                task.cancel()

    async def histories(self) -> AsyncIterator[WorkflowHistory]:
        while True:
            item = await self.fetched.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                self.error = item
                return
            index, name, history = item
            self.names.append((index, name))
            yield history


async def replay_share(
    share: Iterable[tuple[int, Source]], tools: Toolkit, ahead: int = AHEAD
) -> AsyncIterator[Replayed]:
    """Replay these histories in one process, in their order, fetching ahead while each
    replays. A history that cannot be read or fetched ends the share with its error, after the
    outcomes of the histories before it."""
    stream = _Ahead(share, tools, ahead)
    producer = asyncio.ensure_future(stream.produce())
    try:
        async with tools.replayer().workflow_replay_iterator(stream.histories()) as results:
            async for result in results:
                index, name = stream.names.popleft()
                failure = result.replay_failure
                yield Replayed(index, name, describe(failure) if failure is not None else None)
    finally:
        producer.cancel()
    if stream.error is not None:
        raise stream.error


def replay_all(
    sources: list[Source],
    tools: Toolkit,
    jobs: int,
    on_result: Callable[[Replayed], None],
    *,
    in_process: bool = True,
) -> None:
    """Replay every source with `jobs` processes (this one alone when 1 and `in_process`: the
    benchmark starts one process for 1 as for 2, to compare like with like); `on_result` gets
    each outcome in the sources' order. The first history that cannot be read or fetched
    stops the replay with its error."""
    if not sources:
        return
    jobs = max(1, min(jobs, len(sources)))
    indexed = list(enumerate(sources))
    if jobs == 1 and in_process:
        asyncio.run(_in_this_process(indexed, tools, on_result))
        return
    context = multiprocessing.get_context("spawn")  # the parent may hold Temporal's threads
    queues: list[Any] = [context.Queue(maxsize=AHEAD) for _ in range(jobs)]
    processes = [
        context.Process(target=_process, args=(indexed[k::jobs], tools, queues[k]), daemon=True)
        for k in range(jobs)
    ]
    for process in processes:
        process.start()
    try:
        _gather(processes, queues, len(sources), on_result)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


async def _in_this_process(
    indexed: list[tuple[int, Source]], tools: Toolkit, on_result: Callable[[Replayed], None]
) -> None:
    async for replayed in replay_share(indexed, tools):
        on_result(replayed)


def _gather(
    processes: list[Any], queues: list[Any], count: int, on_result: Callable[[Replayed], None]
) -> None:
    """Outcomes handed on in the sources' order: source i is in the share of process i % n, so
    its outcome is the next on that process's queue, and none is kept here out of turn."""
    for index in range(count):
        kind, value = _next(processes[index % len(processes)], queues[index % len(queues)])
        if kind == "error":
            raise value
        on_result(value)


def _next(process: Any, results: Any) -> tuple[str, Any]:
    while True:
        try:
            item: tuple[str, Any] = results.get(timeout=1.0)
            return item
        except queue.Empty:
            if process.exitcode is not None:
                message = f"a replay process ended unexpectedly (exit {process.exitcode})"
                raise RuntimeError(message) from None


def _process(share: list[tuple[int, Source]], tools: Toolkit, results: Any) -> None:
    """A replaying process: its share's outcomes in order, or those before the error that
    stopped it, then the error."""
    try:
        asyncio.run(_send(share, tools, results))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        results.put(("error", _portable(exc)))
    results.close()
    results.join_thread()
    # Temporal's native runtime may abort the interpreter while it finalizes; the work is sent.
    os._exit(0)


async def _send(share: list[tuple[int, Source]], tools: Toolkit, results: Any) -> None:
    async for replayed in replay_share(share, tools):
        # waits while the queue is full (the parent is on another process's turn), without
        # stopping the event loop the replayer runs on
        await asyncio.to_thread(results.put, ("result", replayed))


def _portable(exc: BaseException) -> BaseException:
    """The error as it can travel to the parent: itself when it pickles, else its line."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any error that does not survive pickling
        return RuntimeError(describe(exc))
    return exc
