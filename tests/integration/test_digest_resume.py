"""A digest cut into several messages, stopped half way by a crash, resumes after the restart
with the same numbering ("(3/5)", not a new "(1/3)") and the same idempotency keys, on every
backend."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.sender import Sender
from bot.ports import Batch
from bot.subscriptions import Destination, SubscriptionSpec
from tests.integration.backends import BACKENDS, open_test_backend
from tests.unit.test_sender_logic import CONFIG, ScriptedNotifier, burst

EVENTS = 30
HEADER = re.compile(rf"^{EVENTS} chart updates \((\d+)/(\d+)\)\n")


def numbers(notifier: ScriptedNotifier) -> list[tuple[int, int]]:
    found = []
    for _, text in notifier.sent:
        match = HEADER.match(text)
        assert match is not None, text
        found.append((int(match[1]), int(match[2])))
    return found


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_digest_resumed_after_a_crash_keeps_its_numbering(
    kind: str, tmp_path: Path
) -> None:
    backend = await open_test_backend(kind, tmp_path)
    try:
        await backend.subscriptions.add_subscription(
            Destination("telegram", "1"), SubscriptionSpec(service="netflix", details=True)
        )
        await backend.save_batch(Batch(events=burst(EVENTS)), queue_deliveries=True)
        clock = [datetime.now(UTC)]
        config = dataclasses.replace(CONFIG, lease_seconds=60.0)
        before = ScriptedNotifier(text_limit=600, hang_after=2)
        first = Sender(
            backend.outbox, [before], backend.subscriptions, config, clock=lambda: clock[0]
        )
        running = asyncio.create_task(first.run())
        await asyncio.wait_for(before.hanging.wait(), 10)
        running.cancel()  # the third part is in flight: its rows stay claimed, as after a crash
        await asyncio.gather(running, return_exceptions=True)

        clock[0] += 2 * config.lease  # the lease runs out; another process takes the digest over
        after = ScriptedNotifier(text_limit=600)
        second = Sender(
            backend.outbox, [after], backend.subscriptions, config, clock=lambda: clock[0]
        )
        task = asyncio.create_task(second.run())
        try:
            async with asyncio.timeout(10):
                while (counts := await backend.outbox.counts()).pending:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await backend.close()

    parts = len(before.sent) + len(after.sent)
    assert parts > 3  # the digest needs several messages
    assert numbers(before) == [(1, parts), (2, parts)]
    assert numbers(after) == [(number, parts) for number in range(3, parts + 1)]
    keys = before.keys + after.keys
    assert len(set(keys)) == parts
    assert (counts.sent, counts.dead) == (EVENTS, 0)
