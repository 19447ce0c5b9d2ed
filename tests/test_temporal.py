"""memory.temporal: time expressions resolved against the moment they were said (valid time of facts)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from memory.temporal import find_times, is_future, valid_time, window

REF = datetime(2024, 6, 12, 15, 0, tzinfo=UTC).timestamp()  # a Wednesday


def day(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d")


def test_relative_expressions_resolve_against_the_reference_time() -> None:
    assert day(valid_time("I moved to Porto last week.", REF)[0]) == "2024-06-03"  # that week's Monday
    assert day(valid_time("three weeks ago I adopted a dog", REF)[0]) == "2024-05-22"
    assert day(valid_time("yesterday", REF)[0]) == "2024-06-11"
    assert day(valid_time("On Monday I started a new job", REF)[0]) == "2024-06-10"
    assert day(valid_time("a couple of months ago I quit", REF)[0]) == "2024-04-12"


def test_since_until_and_for_set_the_right_end_of_the_interval() -> None:
    assert [day(t) for t in valid_time("Since March I have been allergic to cats.", REF)] == [
        "2024-03-01",
        None,
    ]
    assert [day(t) for t in valid_time("I lived in Lyon until 2019", REF)] == [None, "2019-01-01"]
    assert day(valid_time("I've lived here for two years", REF)[0]) == "2022-06-13"
    assert day(valid_time("since March 3rd", REF)[0]) == "2024-03-03"  # the day, not the month


def test_bare_months_resolve_to_the_past_unless_the_clause_is_about_the_future() -> None:
    assert day(valid_time("In August I moved", REF)[0]) == "2023-08-01"
    assert day(valid_time("I'll visit Japan in August", REF)[0]) == "2024-08-01"
    assert day(valid_time("last March", REF)[0]) == "2024-03-01"
    assert day(valid_time("last June", REF)[0]) == "2023-06-01"
    assert is_future("I'm moving to Berlin next month", REF)
    assert not is_future("I moved to Berlin last month", REF)


def test_absolute_dates_and_windows() -> None:
    assert day(valid_time("I started on 3 March 2021", REF)[0]) == "2021-03-03"
    start, end = window("Where did I live in January?", REF) or (0.0, 0.0)
    assert (day(start), day(end)) == ("2024-01-01", "2024-02-01")
    assert window("Where do I live?", REF) is None


def test_the_modal_may_and_plain_numbers_are_not_dates() -> None:
    assert find_times("I may go there with 3 friends", REF) == []


@given(
    st.floats(min_value=0, max_value=4e9),
    st.sampled_from(["last week", "in 2019", "since May", "two days ago", "next month"]),
)
def test_spans_are_well_formed(ref: float, phrase: str) -> None:
    for span in find_times(f"It happened {phrase}.", ref):
        assert span.start < span.end
