"""A controller attached to a P4Runtime switch, as the tests run it: ``Router`` + ``P4RuntimeDataplane``.

It is what ``twinrouter controller`` runs (service.serve) minus the signal
handling and the status socket, in the test's own event loop so that the
test can look at the session's counters and the router's intent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from controller.clock import AsyncioClock
from controller.config import RouterConfig
from controller.p4rt import P4RuntimeDataplane, PipelineFiles
from controller.router import Router
from controller.service import adopt

TIMEOUT = 30.0


@contextlib.asynccontextmanager
async def running_controller(
    config: RouterConfig, target: str, pipeline: PipelineFiles, election_id: int = 10
) -> AsyncIterator[tuple[Router, P4RuntimeDataplane]]:
    """A controller in session with ``target``; entered once it has reconciled the switch."""
    session = P4RuntimeDataplane(target, pipeline, election_id=election_id)
    router = Router(config, AsyncioClock(), session)
    router.start()
    task = asyncio.create_task(
        session.run(router.handle_packet_in, lambda found: adopt(router, found), router.connected)
    )
    try:
        await asyncio.wait_for(session.synced.wait(), TIMEOUT)
        yield router, session
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def settled(session: P4RuntimeDataplane) -> None:
    """Wait until the session is in sync and the switch holds every change made so far."""
    await until(lambda: session.written.is_set() and session.installed == session.desired)


async def until(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait until ``condition()`` holds, polling; fail after ``timeout`` seconds."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"not true within {timeout} s: {condition}") from None
