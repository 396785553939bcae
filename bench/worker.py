"""One benchmark worker process: the engine's worker, or with --bare the yardstick workflow
under the same worker settings. Configured by the engine's environment variables
(TEMPORAL_ADDRESS, CLAIMS_TASK_QUEUE, CLAIMS_DATABASE_URL, CLAIMS_DATA_DIR). It prints one JSON
line once it polls, then runs until SIGTERM; being a process of its own, its resident memory
is its own."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from bench.bare import BareSixActivities, noop
from client import connect
from settings import get_settings
from worker import build_worker, settle_collector


async def main(bare: bool) -> None:
    settings = get_settings()
    client = await connect(settings)
    worker = (
        build_worker(client, settings, workflows=[BareSixActivities], activities=[noop])
        if bare
        else build_worker(client, settings)
    )
    settle_collector()  # as the engine's worker does before it runs
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the whole process group
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with worker:
        config = worker.config()
        keys = ("max_cached_workflows", "max_concurrent_workflow_tasks")
        ready = {k: config.get(k) for k in keys}
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main("--bare" in sys.argv[1:]))
