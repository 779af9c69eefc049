"""The overview's journeys figures: a send counts once on its UTC day and channel, even when its task is retried."""

from __future__ import annotations

import datetime as dt

from services.journeys.adapters.memory import MemoryJourneys
from services.journeys.domain.overview import journeys_overview, last_days, sends_key
from services.journeys.use_cases import counting

NOW = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC)


def test_a_send_counts_on_its_utc_day_in_a_shard_of_its_profile() -> None:
    pk, sk = sends_key("p1", NOW.astimezone(dt.timezone(dt.timedelta(hours=2))))
    assert pk.startswith("SENDS#") and sk == "2026-03-02"
    assert sends_key("p1", NOW)[0] == pk


def test_a_retried_send_counts_once_and_the_overview_sums_days_and_channels() -> None:
    # Given a journey store, an email sent (its task retried: the same marker) and a webhook the next day
    repo = MemoryJourneys()
    for _ in range(2):
        counting.count(repo, "j1", 1, "k1#sent", [("n1", "sent")], NOW, sent=("email", "p1"))
    counting.count(repo, "j1", 1, "k2#sent", [("n2", "sent")], NOW + dt.timedelta(hours=1), sent=("webhook", "p2"))

    # When the overview is asked for the three days up to the second one
    days = last_days(dt.date(2026, 3, 3), 3)
    figures = journeys_overview(
        [{"status": "active"}, {"status": "paused"}, {"status": "active"}], repo.sends_per_day(days[0], days[-1]), days
    )

    # Then each send is counted once, on its day and channel, and the node counter agrees
    assert figures == {
        "active": 2,
        "sendsPerDay": [
            {"day": "2026-03-01", "sends": 0, "byChannel": {}},
            {"day": "2026-03-02", "sends": 1, "byChannel": {"email": 1}},
            {"day": "2026-03-03", "sends": 1, "byChannel": {"webhook": 1}},
        ],
        "sendsByChannel": {"email": 1, "webhook": 1},
    }
    assert repo.stats("j1")["v1#n1"]["sent"] == 1
