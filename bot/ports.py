"""Ports: what the core needs from the outside world, declared here and implemented elsewhere.

`storage/` implements `Backend` (chart history, outbox, subscriptions); `handlers/` implement
`Notifier`. The core never imports them. The outbox port is declared in bot/outbox.py and
importable from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.events import Event
from bot.live_store import LiveStore
from bot.models import Chart, ChartKey, Granularity, Rejection
from bot.outbox import ClaimedGroup as ClaimedGroup
from bot.outbox import DeadLetter as DeadLetter
from bot.outbox import Delivery as Delivery
from bot.outbox import DeliveryBacklog as DeliveryBacklog
from bot.outbox import DeliveryCounts as DeliveryCounts
from bot.outbox import DeliveryStatus as DeliveryStatus
from bot.outbox import Outbox as Outbox
from bot.pictures.model import Picture

if TYPE_CHECKING:
    from bot.commands.reply import Button
from bot.subscriptions import (
    ChatSettings,
    Destination,
    DestinationState,
    Route,
    Subscription,
    SubscriptionSpec,
)

# A chart family without its region: (source, service, category, granularity).
Family = tuple[str, str, str, Granularity]
# Engine state is opaque to storage: a JSON-serialisable dict written by bot.diff.
StateJson = dict[str, Any]


@dataclass(slots=True)
class Batch:
    """Everything one step of the pipeline writes, committed in one transaction."""

    accepted: list[Chart] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    chart_states: dict[ChartKey, StateJson] = field(default_factory=dict)
    family_states: dict[Family, StateJson] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SavedBatch:
    """What storing a batch changed."""

    events: list[Event]  # the events that were new (a stored key is skipped), in input order
    queued: int = 0  # deliveries queued for them (0 unless asked to queue)


@dataclass(frozen=True, slots=True)
class StoredRejection:
    key: ChartKey
    period: date
    reason: str
    rows: int
    rejected_at: datetime


@dataclass(frozen=True, slots=True)
class TitleHit:
    """A title found in history: for /title search and autocomplete."""

    title_id: str
    title: str
    season: str | None


@dataclass(frozen=True, slots=True)
class RankPoint:
    """One appearance of a title in one chart period."""

    key: ChartKey
    period: date
    rank: int


@dataclass(frozen=True, slots=True)
class RankTally:
    """How many periods a title held one rank in one chart, and when first and last: a title's
    whole history in a few hundred rows, for /title (a hit's appearances run to tens of
    thousands)."""

    title_id: str
    key: ChartKey
    rank: int
    periods: int
    first: date
    last: date


class Storage(Protocol):
    """The chart history store (the pipeline's view of a Backend)."""

    async def migrate(self) -> int:
        """Apply pending migrations; return the schema version now in force."""
        ...

    async def close(self) -> None: ...

    async def save_batch(self, batch: Batch, *, queue_deliveries: bool) -> SavedBatch:
        """Store charts, rejections, states and events as one unit of work (one transaction).

        An event key already stored is skipped: the store keeps each key once. Storing an
        accepted chart replaces a stored chart of the same key and period. With
        `queue_deliveries`, the deliveries the new events owe (to every active destination one
        of whose subscriptions matches) are queued too: live events; history (import, replay) is
        stored without. They are in the same transaction when they are few; a burst's are
        inserted in short transactions after it, its events marked until the last is in (see
        `queue_unfinished`). Either way, when this returns they are all queued.
        """
        ...

    async def queue_unfinished(self) -> int:
        """Queue what live events still owe whose queueing was interrupted (the process died
        between the transactions of a burst); the number of deliveries queued. Safe at any time
        and from any process: a delivery already queued is not queued twice."""
        ...

    async def load_chart_state(self, key: ChartKey) -> StateJson | None: ...

    async def load_chart_states(self, keys: Sequence[ChartKey]) -> dict[ChartKey, StateJson]:
        """The states of those keys that have one, read at once (a show's charts, for /title)."""
        ...

    async def load_family_state(self, family: Family) -> StateJson | None: ...

    async def latest_chart(self, key: ChartKey, on_or_before: date | None = None) -> Chart | None:
        """The latest accepted chart of a key (optionally at or before a date)."""
        ...

    async def has_chart(self, key: ChartKey, period: date) -> bool:
        """Whether an accepted chart exists for this key and period."""
        ...

    async def chart_keys(self, source: str | None = None) -> list[ChartKey]:
        """Every key with at least one accepted chart, sorted."""
        ...

    async def family_charts(self, family: Family, period: date) -> list[Chart]:
        """All accepted charts of one family (every region) for one period, sorted by region."""
        ...

    async def latest_period(self, family: Family) -> date | None:
        """The newest period with an accepted chart in the family, any region."""
        ...

    async def recent_rejections(self, limit: int = 20) -> list[StoredRejection]:
        """Newest first."""
        ...

    async def search_titles(self, text: str, limit: int = 25) -> list[TitleHit]:
        """Titles whose display title contains `text` (case-insensitive); exact ranking is the
        caller's job (fuzzy scoring lives in the core)."""
        ...

    async def all_titles(self) -> list[TitleHit]:
        """Every distinct title in history (for fuzzy matching)."""
        ...

    async def titles_version(self) -> int:
        """A number that changes whenever all_titles() would answer differently (read it
        before all_titles: a change in between is then seen by the next look)."""
        ...

    async def title_history(self, title_id: str, since: date | None = None) -> list[RankPoint]:
        """Every chart appearance of a title (of periods on or after `since`), oldest first."""
        ...

    async def rank_tallies(
        self, title_ids: Sequence[str], key: ChartKey | None = None
    ) -> list[RankTally]:
        """The rank tallies of these titles in every chart (or in chart `key` only), sorted by
        title id, key and rank."""
        ...

    async def recent_events(self, limit: int = 50, title_id: str | None = None) -> list[Event]:
        """Newest first."""
        ...

    async def get_meta(self, name: str) -> str | None:
        """Small key/value facts (e.g. HTTP validators per URL, last poll times)."""
        ...

    async def set_meta(self, name: str, value: str) -> None: ...


class SubscriptionStore(Protocol):
    """Destinations, their subscriptions and settings (Backend.subscriptions)."""

    async def add_subscription(
        self, destination: Destination, spec: SubscriptionSpec
    ) -> tuple[Subscription, bool]:
        """Store a subscription (creating or reactivating its destination).

        Returns it and whether it is new: a spec with the same identity is stored once.
        """
        ...

    async def remove_subscription(self, destination: Destination, subscription_id: int) -> bool:
        """Remove one subscription of the destination; False when it has no such id."""
        ...

    async def remove_all_subscriptions(self, destination: Destination) -> int: ...

    async def subscriptions_of(self, destination: Destination) -> list[Subscription]:
        """Oldest first."""
        ...

    async def active_routes(self) -> list[Route]:
        """Every active destination that has subscriptions, with its settings."""
        ...

    async def destination_state(self, destination: Destination) -> DestinationState | None:
        """None for a destination never seen."""
        ...

    async def set_active(self, platform: str, chat_id: str, active: bool, reason: str = "") -> int:
        """(De)activate every destination of one chat (all its topics); subscriptions are kept.

        Returns how many destinations changed.
        """
        ...

    async def get_settings(self, destination: Destination) -> ChatSettings: ...

    async def save_settings(self, destination: Destination, settings: ChatSettings) -> None: ...

    async def move_destination(self, old: Destination, new: Destination) -> int:
        """Move subscriptions and settings to a new address (a Telegram group that became a
        supergroup). Subscriptions the new address already has are kept once. Returns how many
        subscriptions moved."""
        ...


class Backend(Storage, Protocol):
    """One storage backend: the chart history, the outbox and the subscriptions, in one place
    (one database), so that a unit of work spans them. Implementations: storage.sqlite,
    storage.memory; opened by storage.open_backend(url)."""

    @property
    def outbox(self) -> Outbox: ...

    @property
    def subscriptions(self) -> SubscriptionStore: ...

    @property
    def live(self) -> LiveStore: ...


class StorageRefused(Exception):
    """The store cannot do what was asked (a URL it cannot open, a copy into a database that
    holds data); the message says why, in words for the user."""


class DeliveryError(Exception):
    """A Notifier could not deliver; the subclass says what the sender should do next."""


class DestinationGone(DeliveryError):
    """Blocked, kicked, channel deleted or permission removed: stop sending, keep subscriptions."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DestinationMoved(DeliveryError):
    """The chat has a new address (Telegram group → supergroup): move it and send again."""

    def __init__(self, new_address: str) -> None:
        super().__init__(f"moved to {new_address}")
        self.new_address = new_address


class RetryLater(DeliveryError):
    """Flood control: nothing was delivered; wait this long before sending to the platform."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class DeliveryUncertain(DeliveryError):
    """The request went out but no answer came (a timeout): it may have been delivered.

    Sent again once (a duplicate is better than a loss) and counted.
    """


class MessageRejected(DeliveryError):
    """The platform refused this message itself (a bad request): sending it again cannot help."""


class TransientFailure(DeliveryError):
    """A server error (5xx) or a connection broken before an answer: retry with backoff."""


class MessageGone(DeliveryError):
    """The message to edit no longer exists (someone deleted it): post a new one instead."""


class Notifier(Protocol):
    """The one way out to a platform: alerts, operator alerts and live messages.

    One implementation per platform (handlers/<platform>/notifier.py) declares its limits there.
    `destination` is a `Destination.address` ("chat" or "chat/topic"). `send` delivers `text`
    (plain text, already cut to `text_limit` as measured by `text_length`: bot.delivery cuts
    it) as ONE message, or raises a DeliveryError subclass; any other exception counts as
    transient. `idempotency_key` (≤ 25 characters) is the same for every attempt of one
    message: a platform that de-duplicates (Discord's nonce) delivers it once. `buttons` run
    commands (a title card's "All countries"): shown under the message where the platform has
    buttons (an inline keyboard, a row of Discord buttons); the text says the same in words.
    `picture` goes in the same message (a Telegram photo whose caption is the text, then cut to
    `caption_limit`; an image in a Discord embed; a file the console names).
    Telling whoever can fix a lost destination (a Discord server owner) is the notifier's own
    business when it raises DestinationGone. `wait_until_ready` returns once the platform client
    can send (logged in): claiming rows before that would let their leases run out unsent.

    `post` is `send` returning the platform's id of the new message, which `edit` takes to
    replace its text (a live Top 10). An edit to the same text is no error; an edit of a message
    that was deleted raises MessageGone.
    """

    platform: str
    text_limit: int
    caption_limit: int  # the text limit of a message that carries a picture
    # True when the platform drops a repeat carrying the same idempotency key (Discord).
    deduplicates: bool

    async def wait_until_ready(self) -> None: ...

    def text_length(self, text: str) -> int: ...

    async def send(
        self,
        destination: str,
        text: str,
        *,
        idempotency_key: str | None = None,
        buttons: Sequence[Button] = (),
        picture: Picture | None = None,
    ) -> None: ...

    async def post(
        self, destination: str, text: str, *, idempotency_key: str | None = None
    ) -> str: ...

    async def edit(self, destination: str, message_id: str, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Bucket:
    """One ceiling as a leaky bucket (bot.delivery.pacing): `burst` messages may go back to back,
    then one every `interval` seconds. `key` names it among every sender's buckets."""

    key: str
    interval: float
    burst: int = 1


@dataclass(frozen=True, slots=True)
class Turn:
    """A SendBudget's answer: `granted`, the message goes now (its turn is taken); else nothing
    was taken and the sender asks again in `wait` seconds, with another chat's message meanwhile
    if `chat_busy` (this chat had a message from another sender), else with this one."""

    granted: bool
    wait: float = 0.0
    chat_busy: bool = False


class SendBudget(Protocol):
    """A platform's sending budget shared by every sender process of a deployment, so that
    together they stay below each ceiling ([delivery] shared_budget; PostgreSQL: the send_budget
    table). One process alone paces in memory (bot.delivery.pacing)."""

    async def take(self, overall: Bucket, chat: Sequence[Bucket]) -> Turn:
        """Take one message's turn now, if the platform's bucket and the chat's all have room
        (then every one is charged); else take nothing and say how long to wait."""
        ...

    async def pause(self, overall: Bucket, seconds: float) -> None:
        """Flood control: no sender sends on this platform before `seconds` from now."""
        ...
