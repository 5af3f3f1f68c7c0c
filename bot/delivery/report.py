"""What the operator reads about deliveries: counts, dead letters, the summary of one send run."""

from __future__ import annotations

from datetime import UTC

from bot.delivery.lanes import SenderStats
from bot.ports import DeadLetter, DeliveryBacklog, DeliveryCounts

_DEAD_HINT = " — `top10bot deliveries status` lists them, `deliveries retry` queues them again"


def format_delivery_counts(counts: DeliveryCounts) -> str:
    """`deliveries status`, the whole history: `deliveries: 3 pending, 1 failed (retry
    scheduled), 250 sent, 2 dead`."""
    line = (
        f"deliveries: {counts.pending} pending, {counts.failed} failed (retry scheduled),"
        f" {counts.sent} sent, {counts.dead} dead"
    )
    if counts.uncertain:
        line += f"; {counts.uncertain} sent again after a timeout"
    return line + (_DEAD_HINT if counts.dead else "")


def format_delivery_backlog(backlog: DeliveryBacklog) -> str:
    """`top10bot status`: what is not sent, `deliveries: 3 pending, 1 failed (retry scheduled),
    2 dead` (sent rows are the whole history: `deliveries status` counts them)."""
    line = (
        f"deliveries: {backlog.pending} pending, {backlog.failed} failed (retry scheduled),"
        f" {backlog.dead} dead"
    )
    return line + (_DEAD_HINT if backlog.dead else "")


def format_dead_letter(letter: DeadLetter) -> str:
    when = letter.updated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    return f"dead #{letter.id} {when} {letter.destination} {letter.event_key}: {letter.reason}"


def format_send_summary(stats: SenderStats, left: DeliveryBacklog) -> str:
    """The one line `top10bot deliveries send` ends with.

    `left` is the outbox after the run: what is still pending or failed waits for quiet hours, a
    daily digest, a retry not yet due, or a platform this run had no token for, and goes out with
    a later run."""
    messages = f"{stats.messages_sent} message{'' if stats.messages_sent == 1 else 's'}"
    line = (
        f"deliveries send: {stats.deliveries_sent} sent in {messages},"
        f" {stats.retries_scheduled} failed (retry scheduled), {stats.dead} dead"
    )
    live = stats.live_edits + stats.live_posts
    if live:
        line += f"; {live} live Top 10{'' if live == 1 else 's'} updated"
    if left.waiting:
        line += (
            f"; {left.waiting} left for a later run (quiet hours, a daily digest, a retry not yet"
            " due, or a platform without a token)"
        )
    if stats.dead:
        line += " — `top10bot deliveries status` lists the dead letters"
    return line
