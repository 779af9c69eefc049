"""The merge policy: trait conflicts, computed traits and consent combine the same way in any order, lose nothing,
and an un-merge gives back exactly what was there before."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.identity.domain.computed import Computed, merge, unmerge
from services.identity.domain.consent import Decision, merge_consent, unmerge_consent
from services.identity.domain.records import MergeLog, Profile, fold_profile, unfold_profile
from services.identity.domain.stamps import Stamped
from services.identity.domain.traits import apply_traits, merge_traits, unmerge_traits

T1, T2, T3 = "2026-03-01T10:00:00.000Z", "2026-03-02T10:00:00.000Z", "2026-03-03T10:00:00.000Z"

# ---- strategies ----------------------------------------------------------------------------------------------

instants = st.sampled_from(
    ["2026-03-01T10:00:00.000Z", "2026-03-01T10:00:00.001Z", "2026-03-02T08:30:00.000Z", "2026-04-01T00:00:00.000Z"]
)
trait_values = st.one_of(
    st.text(alphabet="aéZ0@ ", min_size=1, max_size=5), st.integers(-5, 5), st.booleans(), st.lists(st.integers(0, 3))
)
stamped = st.builds(Stamped, trait_values, instants)
trait_sets = st.dictionaries(st.sampled_from(["firstName", "email", "plan", "city", "tags"]), stamped, max_size=5)
counts = st.dictionaries(st.sampled_from(["recipes", "history", "tutorials"]), st.integers(1, 9), max_size=3)
maybe_instant = st.none() | instants
maybe_stamped = st.none() | st.builds(Stamped, st.sampled_from(["Lyon", "Paris", {"type": "search"}]), instants)
computed_states = st.builds(
    Computed,
    events=st.integers(0, 50),
    page_views=st.integers(0, 50),
    sessions=st.integers(0, 9),
    purchases=st.integers(0, 4),
    revenue=st.decimals(min_value=0, max_value=1000, places=2),
    by_section=counts,
    by_topic=counts,
    first_seen=maybe_instant,
    last_seen=maybe_instant,
    cart_updated=maybe_instant,
    last_purchase=maybe_instant,
    devices=st.dictionaries(st.sampled_from(["mobile/iOS/Safari", "desktop/macOS/Chrome"]), instants, max_size=2),
    referrer=maybe_stamped,
    campaign=maybe_stamped,
    city=maybe_stamped,
    country=maybe_stamped,
)
decisions = st.builds(Decision, st.booleans(), instants, st.sampled_from(["banner", "import", "unsubscribe"]))
consents = st.dictionaries(st.sampled_from(["tracking", "email_marketing", "personalisation"]), decisions, max_size=3)


# ---- traits: most recent non-empty value wins ----------------------------------------------------------------


def test_the_most_recent_value_wins_whichever_profile_it_comes_from() -> None:
    # Given Ana's known profile (city set on the 1st) and her anonymous one (city set on the 2nd)
    known = {"firstName": Stamped("Ana", T1), "city": Stamped("Lyon", T1)}
    anonymous = {"city": Stamped("Paris", T2), "utm": Stamped("spring", T2)}
    # When they merge, in either direction
    merged = merge_traits(known, anonymous)
    # Then the later city wins, nothing is lost, and the direction does not matter
    assert {k: v.value for k, v in merged.items()} == {"firstName": "Ana", "city": "Paris", "utm": "spring"}
    assert merge_traits(anonymous, known) == merged


def test_empty_values_never_overwrite_and_an_older_update_never_wins() -> None:
    current = {"plan": Stamped("pro", T2)}
    updated, changed = apply_traits(current, {"plan": "", "nick": None, "seats": 0, "vip": False}, T3)
    assert updated["plan"] == Stamped("pro", T2)
    assert changed == {"seats": 0, "vip": False}
    older, changed = apply_traits(current, {"plan": "free"}, T1)
    assert older == current
    assert changed == {}


def test_two_values_set_at_the_same_instant_resolve_the_same_way_in_any_order() -> None:
    a, b = {"plan": Stamped("pro", T1)}, {"plan": Stamped("free", T1)}
    assert merge_traits(a, b) == merge_traits(b, a)


@given(a=trait_sets, b=trait_sets, c=trait_sets)
def test_trait_merges_are_commutative_associative_and_idempotent(
    a: dict[str, Stamped], b: dict[str, Stamped], c: dict[str, Stamped]
) -> None:
    assert merge_traits(a, b) == merge_traits(b, a)
    assert merge_traits(merge_traits(a, b), c) == merge_traits(a, merge_traits(b, c))
    assert merge_traits(a, a) == a


@given(a=trait_sets, b=trait_sets)
def test_a_merge_keeps_every_trait_and_each_value_is_the_latest_seen(
    a: dict[str, Stamped], b: dict[str, Stamped]
) -> None:
    merged = merge_traits(a, b)
    assert merged.keys() == a.keys() | b.keys()
    for name, value in merged.items():
        assert value.at == max(s.at for s in (a.get(name), b.get(name)) if s)


@given(updates=st.lists(st.tuples(st.sampled_from(["plan", "city"]), trait_values, instants), max_size=8))
@settings(max_examples=60)
def test_applying_the_same_updates_in_any_order_gives_the_same_traits(updates: list[tuple[str, Any, str]]) -> None:
    def play(order: list[tuple[str, Any, str]]) -> dict[str, Stamped]:
        traits: dict[str, Stamped] = {}
        for name, value, at in order:
            traits, _ = apply_traits(traits, {name: value}, at)
        return traits

    assert play(updates) == play(list(reversed(updates))) == play(sorted(updates, key=str))


@given(before=trait_sets, folded=trait_sets)
def test_unmerging_traits_right_after_a_merge_restores_the_survivor(
    before: dict[str, Stamped], folded: dict[str, Stamped]
) -> None:
    after = merge_traits(before, folded)
    assert unmerge_traits(after, before, after) == before


def test_an_unmerge_keeps_a_trait_changed_after_the_merge() -> None:
    before = {"city": Stamped("Lyon", T1)}
    after = merge_traits(before, {"city": Stamped("Paris", T2), "plan": Stamped("trial", T2)})
    now = {**after, "city": Stamped("Berlin", T3)}  # she moved after the merge
    assert unmerge_traits(now, before, after) == {"city": Stamped("Berlin", T3)}


# ---- computed traits: counters add up, first seen keeps the minimum --------------------------------------------


def test_counters_add_up_first_seen_keeps_the_minimum_and_last_seen_the_maximum() -> None:
    known = Computed(events=5, page_views=4, sessions=2, first_seen=T2, last_seen=T3, by_section={"recipes": 4})
    anonymous = Computed(events=3, page_views=3, sessions=1, first_seen=T1, last_seen=T2, by_section={"recipes": 1})
    merged = merge(known, anonymous)
    assert (merged.events, merged.page_views, merged.sessions) == (8, 7, 3)
    assert (merged.first_seen, merged.last_seen) == (T1, T3)
    assert merged.by_section == {"recipes": 5}


@given(a=computed_states, b=computed_states, c=computed_states)
@settings(max_examples=150)
def test_computed_merges_are_commutative_and_associative(a: Computed, b: Computed, c: Computed) -> None:
    assert merge(a, b) == merge(b, a)
    assert merge(merge(a, b), c) == merge(a, merge(b, c))


@given(parts=st.lists(computed_states, min_size=1, max_size=5), data=st.data())
@settings(max_examples=100)
def test_folding_profiles_in_any_order_never_loses_an_event_or_a_purchase(parts: list[Computed], data: Any) -> None:
    order = data.draw(st.permutations(parts))
    total = Computed()
    for part in order:
        total = merge(total, part)
    assert total.events == sum(p.events for p in parts)
    assert total.purchases == sum(p.purchases for p in parts)
    assert total.revenue == sum((p.revenue for p in parts), Decimal(0))
    assert total == _fold(parts)


def _fold(parts: list[Computed]) -> Computed:
    total = Computed()
    for part in parts:
        total = merge(total, part)
    return total


@given(before=computed_states, folded=computed_states)
@settings(max_examples=150)
def test_unmerging_computed_traits_right_after_a_merge_restores_the_survivor(
    before: Computed, folded: Computed
) -> None:
    after = merge(before, folded)
    assert unmerge(after, before, folded, after) == before


def test_an_unmerge_takes_out_only_the_folded_share_of_the_counters() -> None:
    before = Computed(events=5, page_views=5, by_section={"recipes": 5})
    folded = Computed(events=2, page_views=2, by_section={"history": 2})
    after = merge(before, folded)
    now = merge(after, Computed(events=1, page_views=1, by_section={"history": 1}))  # one more page since
    restored = unmerge(now, before, folded, after)
    assert (restored.events, restored.page_views) == (6, 6)
    assert restored.by_section == {"recipes": 5, "history": 1}


# ---- consent ---------------------------------------------------------------------------------------------------


@given(a=consents, b=consents, c=consents)
def test_consent_merges_are_commutative_and_associative(
    a: dict[str, Decision], b: dict[str, Decision], c: dict[str, Decision]
) -> None:
    assert merge_consent(a, b) == merge_consent(b, a)
    assert merge_consent(merge_consent(a, b), c) == merge_consent(a, merge_consent(b, c))


@given(before=consents, folded=consents)
def test_unmerging_consent_right_after_a_merge_restores_it(
    before: dict[str, Decision], folded: dict[str, Decision]
) -> None:
    after = merge_consent(before, folded)
    assert unmerge_consent(after, before, after) == before


def test_a_denial_and_a_grant_at_the_same_instant_resolve_to_denied() -> None:
    granted = {"email_marketing": Decision(True, T1, "banner")}
    denied = {"email_marketing": Decision(False, T1, "form")}
    assert merge_consent(granted, denied)["email_marketing"].granted is False
    assert merge_consent(denied, granted)["email_marketing"].granted is False


# ---- whole profiles ---------------------------------------------------------------------------------------------


def test_folding_a_profile_takes_its_identities_and_history_and_unfolding_gives_them_back() -> None:
    known = Profile("K", T1, ("user:u-1", "email:ana@example.com"), {"firstName": Stamped("Ana", T1)})
    earlier = Profile("A", T2, ("anon:laptop",), {"city": Stamped("Lyon", T2)}, merged_from=("A0",))
    folded = fold_profile(known, earlier)
    assert folded.identities == ("user:u-1", "email:ana@example.com", "anon:laptop")
    assert folded.merged_from == ("A", "A0")
    log = MergeLog(
        "m-1",
        "K",
        "A",
        "identified",
        T3,
        folded=earlier,
        folded_computed=Computed(),
        traits_before=known.traits,
        traits_after=folded.traits,
    )
    back = unfold_profile(folded, log)
    assert (back.identities, back.merged_from, back.traits) == (known.identities, (), known.traits)
