"""Who is due for a draft, and why (reference 8.1).

Holds the reasons in the order they are tried, :func:`due`, which gives
each eligible row the first reason that holds, and :func:`by_urgency`, the
order ``--limit`` keeps drafts in (reference 8.3).  It never renders, builds
or writes anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence

from ..config import Config, StageLookup
from ..model.reader import Row

#: The reasons a row can be due, in the order reference 8.1 tries them.
REASONS = ("appointment-reminder", "info-request", "post-meeting", "trial-offer", "follow-up")
#: The reasons from the most urgent to the least, as ``--limit`` keeps them (reference 8.3).
URGENCY = ("appointment-reminder", "info-request", "post-meeting", "follow-up", "trial-offer")
_RANK = {reason: rank for rank, reason in enumerate(URGENCY)}


def due(rows: Iterable[Row], stale_rows: Collection[int], config: Config, as_of: dt.date) -> list[tuple[Row, str]]:
    """Each eligible row with the first reason of reference 8.1 that holds, in row order.

    The caller has already removed excluded rows; stages that don't exist in
    the config can't be open, so such rows are never due.  A stage is matched
    as the rules and the figures match it (case and runs of spaces ignored,
    :func:`~sheetsync.config.stage_key`), so a row they count is drafted too.
    """
    reminder_until = as_of + dt.timedelta(days=config.drafts.reminder_days)
    held_from = as_of - dt.timedelta(days=config.drafts.post_meeting_days)
    out: list[tuple[Row, str]] = []
    stage_of = StageLookup(config)
    for row in rows:
        if row.do_not_contact or not row.stage:
            continue
        stage = stage_of[row.stage]
        if stage is None or not stage.is_open:
            continue
        appointment = row.appointment_date
        if appointment is not None and as_of <= appointment <= reminder_until:
            reason = "appointment-reminder"
        elif row.info_requested:
            reason = "info-request"
        elif (
            appointment is not None
            and held_from <= appointment < as_of
            and (row.last_contact is None or row.last_contact <= appointment)
        ):
            reason = "post-meeting"
        elif row.row in stale_rows and stage.group in ("middle", "late"):
            reason = "trial-offer"
        elif row.next_follow_up is not None and row.next_follow_up <= as_of:
            reason = "follow-up"
        else:
            continue
        out.append((row, reason))
    return out


def by_urgency(todo: Sequence[tuple[Row, str]]) -> list[int]:
    """The positions of ``todo`` (in row order), most urgent first: what ``--limit N`` keeps the first N of.

    Meetings of the next days first, then answers owed to an information
    request, thanks after a meeting, follow-ups (the longest overdue first)
    and last the nudge to a stalled deal; row order breaks every tie
    (issue 16: the limit used to keep the first rows of the sheet, so
    tomorrow's reminders could be left out while routine follow-ups went).
    """

    def key(i: int) -> tuple[int, dt.date, int]:
        row, reason = todo[i]
        overdue = row.next_follow_up if reason == "follow-up" and row.next_follow_up is not None else dt.date.max
        return _RANK[reason], overdue, i

    return sorted(range(len(todo)), key=key)
