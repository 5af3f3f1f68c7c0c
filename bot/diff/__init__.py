"""The diff engine: a pure fold from (state, accepted chart) to (events, next state).

Every accepted chart of one ChartKey is folded into a small `ChartState` that remembers the previous
chart (title → rank, title, season and the period its unbroken run in the chart began), the start of
the current #1 run, the standing records with how many periods each has been measured, and each
title's cumulative hours. `detect_chart_events` compares the new chart with that state only — never
with stored history — so the work per chart is O(entries) dict look-ups. The engine does no I/O and
reads no clock; the same inputs always give the same events in the same order and the same state,
and a state that went through `to_json` / `from_json` continues exactly like the original. The input
state is never mutated.

One module per rule family, each a set of pure functions of the chart being folded (`step.py`):
`movement` (new/lost #1, entered, left, climbed), `streaks`, `records`, `hours`, and `family`
(regions at #1); `chart` runs them in order and builds the next state; `state` holds the states
and their JSON; `order` sorts a fold's events.

Rules of the fold:

- A #1 streak and a Top-10 streak of the same title and length are one event: the #1 streak.
- Entered and new #1 events carry `debut` when the source counts the period as the title's first
  in its Top 10 (a debut entry is a headline, a re-entry a detail: bot.events.Tier).
- The first chart of a key is a baseline: no events, streaks start at 1, records and hours are
  tracked silently.
- A chart whose period is not after the state's last period (a re-poll, an out-of-order delivery)
  gives no events and returns the state unchanged, so replays are idempotent.
- Gap rule: when periods are missing between the last accepted chart and this one (a failed poll, a
  rejected chart), up to `DiffConfig.max_gap_periods` missing periods are *bridged*: the previous
  chart still counts as "the one before", and streaks continue, their length counting calendar
  periods from the streak's first period to this one inclusive (#1 on days 1, 2, 4 with day 3
  missing is a 4-day run). A longer gap makes this chart a new baseline for movement and streaks
  (no new/lost #1, entered, left, climbed or streak events; streaks restart at 1), while records,
  their period counts, cumulative hours and the count of periods seen carry on.
- Each record counts its own history: the periods in which its measure was present (a #1 for the
  longest #1 run, at least one entry with hours or views for the weekly hours or views record).
  A record is only announced once that count, this period included, reaches `record_min_periods`
  (so a young chart does not break a "record" every day, and Netflix's views, published from
  2023-06-18 on after years of hours, do not break one the week after they appear), once the
  first period lies `record_min_history_days` (a year) back — the event says since when — and
  only when another title passes the holder; a holder extending its own record, or any change
  before that history exists, updates silently.
- All-time lists (granularity "alltime", dated snapshots with no regular step) only give
  `all_time_list` events: a title new in the list or higher than in the previous snapshot.

`detect_family_events` folds, per family (a ChartKey without its region) and period, how many
regions have each title at #1 into "#1 in N regions" threshold events and a family-level record.
That record's history is the family's periods: every period folded has regions at #1 to count;
it too needs a year of the family's history.
"""

from bot.diff.chart import detect_chart_events
from bot.diff.config import DiffConfig, period_step
from bot.diff.family import detect_family_events
from bot.diff.state import ChartState, FamilyState, RecordMark

__all__ = [
    "ChartState",
    "DiffConfig",
    "FamilyState",
    "RecordMark",
    "detect_chart_events",
    "detect_family_events",
    "period_step",
]
