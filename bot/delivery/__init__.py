"""Delivering alerts: the outbox's rows become digests, paced per platform, sent through each
platform's notifier, with one policy for every kind of failure.

- config: the [delivery] section.
- text, digest: pure text work (cutting long text, one digest per chat per burst).
- quiet_hours: when a chat does not want to be paged.
- pacing, lanes: staying below each platform's ceilings; the queue of claimed messages.
- failure_policy: what each DeliveryError means for the rows (retry, wait, dead letter, move).
- lifecycle: the one use case for a chat that is gone or moved (sender and adapters alike).
- sender: claims, paces and sends; `run()` until cancelled, `run(until_idle=True)` for cron.
- report: the operator's lines (counts, dead letters, a send summary).

Nothing here imports a platform SDK: handlers/<platform>/notifier.py implements the port.
"""
