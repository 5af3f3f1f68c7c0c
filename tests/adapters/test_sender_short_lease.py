"""A lease far shorter than the pacing waits, against the real SQLite store and the fake Telegram
server: the sender keeps its claims to itself until each send is recorded, so every chat gets
its digest exactly once and nothing is lost."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from bot.delivery.sender import Sender
from tests.adapters.sender_rig import (
    burst,
    fast_config,
    open_rig,
    running,
    telegram_bot,
    telegram_sender,
)
from tests.adapters.test_sender_pacing import TELEGRAM_SCALE, TELEGRAM_SCALED
from tests.fakes import FakeTelegram

# Below a group's turn (0.3 s at the fake's scale) and far below the run (seconds): every lease
# runs out several times unless it is renewed, and a renewal that comes late lets the rows be
# claimed again while the sender still holds them. (Not shorter: renewing the lane's 8,000 rows
# takes longer than 50 ms on a loaded machine, and every send then confirms its claim with the
# store first, which is correct and slow. Renewing every lease / 3 keeps the store busy enough to
# disturb the pacing now and then: an odd flood-control answer, which must not cost a duplicate
# either, is not asserted against here; test_sender_pacing.py does that.)
TINY_LEASE_SECONDS = 0.25


async def test_a_lease_shorter_than_the_pacing_wait_sends_each_digest_once(
    tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=TELEGRAM_SCALE)
    private = list(range(5001, 5201))
    groups = [-6001, -6002]
    async with open_rig(tmp_path) as rig, telegram_bot(fake) as bot:
        await rig.subscribe("telegram", private + groups)
        # Two messages per chat: the second waits for its chat's turn, longer than a lease.
        await rig.publish(burst(40, title_prefix="A rather long title for a show number"))
        config = fast_config(**TELEGRAM_SCALED, lease_seconds=TINY_LEASE_SECONDS)
        sender = Sender(rig.outbox, [telegram_sender(bot)], rig.subscriptions, config)
        async with running(sender):
            counts = await rig.settled(60)
    assert (counts.sent, counts.dead) == (40 * len(private + groups), 0)
    per_chat = Counter(message.chat_id for message in fake.sent)
    assert per_chat == dict.fromkeys(private + groups, 2)
    parts = {(message.chat_id, message.text) for message in fake.sent}
    assert len(parts) == len(fake.sent)  # the two parts of a digest, not one part twice
