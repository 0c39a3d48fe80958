"""Matching: hard filters, the requested provider, the score, tie-breaks, reasons, ops checks."""
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from itertools import permutations

import pytest

from chalicelib.domain.errors import DomainError
from chalicelib.domain.matching import (
    FILTERS, REASONS, Candidate, Match, Needs, check_assignment, check_request_provider, covers, failed_filters,
    licences_covering, match, near_time_zone, primary_subtag, score, shares_language, utc_offset,
)

UTC = timezone.utc
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
NY = "America/New_York"


def provider(id, **fields):
    values = dict(name=f"Provider {id}", kind="therapist", licensed_regions=("US-NY",), languages=("en",),
                  focus_areas=(), timezone="Europe/Berlin", gender=None, accepting=True, active=True,
                  capacity=10, active_clients=0)
    values.update(fields)
    return Candidate(id=id, **values)


NEEDS = Needs(region="US-NY", languages=("en-US",), kind="therapist", focus_areas=("Anxiety", "sleep"), timezone=NY)


def refused(code, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call(*args, **kwargs)
    assert raised.value.code == code, raised.value.message
    return raised.value


def test_the_reason_codes_are_stable():
    assert REASONS == ("requested_provider", "requested_provider_unavailable", "focus_match", "near_time_zone",
                       "least_busy", "lowest_id")


# --- filters -----------------------------------------------------------------------------------

@pytest.mark.parametrize("licence, region, covered", [
    ("GB", "GB", True), ("GB", "GB-SCT", True), ("GB-SCT", "GB-SCT", True),
    ("GB-SCT", "GB", False), ("GB-SCT", "GB-WLS", False), ("GB", "GI", False),
    ("US", "US-NY", True), ("US-NY", "US", False), ("US-NY", "US-NJ", False), ("us", "US-NY", True),
    ("US-N", "US-NY", False),
])
def test_a_licence_covers_its_region_or_every_region_of_its_bare_country(licence, region, covered):
    assert covers(licence, region) is covered


@pytest.mark.parametrize("region", ["GB", "GB-SCT", "US-NY", "us-ny", "IS", "ES-CT"])
def test_the_index_keys_of_a_region_are_exactly_the_licences_that_cover_it(region):
    licences = ["GB", "GB-SCT", "GB-WLS", "US", "US-NY", "US-NJ", "IS", "ES", "ES-CT", "ES-AN", "GI"]
    assert {lic for lic in licences if covers(lic, region)} == set(licences_covering(region))
    assert licences_covering("") == ()


@pytest.mark.parametrize("theirs, ours, shared", [
    (("en",), ("en-GB",), True), (("en-GB",), ("en-US",), True), (("en-US",), ("en",), True),
    (("pt-BR",), ("pt-PT",), True), (("zh-Hant-TW",), ("zh",), True), (("EN",), ("en",), True),
    (("en",), ("fr",), False), (("es", "fr"), ("de", "fr-CA"), True), ((), ("en",), False),
])
def test_languages_are_shared_by_primary_subtag(theirs, ours, shared):
    assert shares_language(theirs, ours) is shared
    assert primary_subtag("es-419") == "es"


@pytest.mark.parametrize("change, failed", [
    ({"active": False}, ("active",)),
    ({"accepting": False}, ("accepting",)),
    ({"licensed_regions": ("US-NJ", "GB")}, ("licensed",)),
    ({"languages": ("fr", "de")}, ("language",)),
    ({"kind": "psychiatrist"}, ("kind",)),
    ({"active_clients": 10}, ("capacity",)),
    ({"active_clients": 11}, ("capacity",)),
    ({"capacity": 0}, ("capacity",)),
    ({"active": False, "languages": ("fr",), "active_clients": 10}, ("active", "language", "capacity")),
])
def test_each_hard_filter_excludes(change, failed):
    candidate = provider("p1", **change)
    assert failed_filters(candidate, NEEDS) == failed
    assert set(failed) <= set(FILTERS)
    assert match([candidate], NEEDS, NOW) is None


def test_one_place_left_is_enough():
    assert match([provider("p1", active_clients=9)], NEEDS, NOW).provider_id == "p1"


def test_a_bare_country_licence_passes_the_filter():
    assert match([provider("p1", licensed_regions=("US",))], NEEDS, NOW).provider_id == "p1"
    assert match([provider("p1", licensed_regions=("GB-SCT",))], replace(NEEDS, region="GB"), NOW) is None


def test_the_preferred_gender_filters_only_when_given():
    female, male, unstated = provider("f", gender="female"), provider("m", gender="male"), provider("u")
    assert match([male, unstated, female], replace(NEEDS, gender_preference="female"), NOW).provider_id == "f"
    assert match([male, unstated], replace(NEEDS, gender_preference="female"), NOW) is None
    assert match([male, unstated], NEEDS, NOW).provider_id == "m"


def test_any_kind_when_the_needs_name_none():
    assert failed_filters(provider("p", kind="psychiatrist"), replace(NEEDS, kind=None)) == ()


# --- the requested provider --------------------------------------------------------------------

BEST = provider("p1", focus_areas=("anxiety", "sleep"), timezone=NY)
NAMED = provider("p9", name="Dr. Jane  Smith", active_clients=9)


@pytest.mark.parametrize("typed", ["Dr. Jane  Smith", "dr. jane smith", "  DR. JANE SMITH "])
def test_a_named_provider_who_passes_is_chosen_whatever_the_score(typed):
    found = match([BEST, NAMED], replace(NEEDS, provider_name=typed), NOW)
    assert found == Match("p9", ("requested_provider",), 0)


@pytest.mark.parametrize("typed", ["Jane Smith", "Dr. Jane Smit", "Dr.Jane Smith"])
def test_the_name_must_match_as_a_whole(typed):
    found = match([BEST, NAMED], replace(NEEDS, provider_name=typed), NOW)
    assert found.provider_id == "p1" and found.reasons[0] == "requested_provider_unavailable"


def test_a_named_provider_who_fails_a_filter_is_unavailable_and_the_score_decides():
    full = replace(NAMED, active_clients=10)
    found = match([full, BEST], replace(NEEDS, provider_name="Dr. Jane Smith"), NOW)
    assert found == Match("p1", ("requested_provider_unavailable", "focus_match", "near_time_zone"), 7)


def test_an_excluded_named_provider_is_unavailable():
    found = match([BEST, NAMED], replace(NEEDS, provider_name="Dr. Jane Smith"), NOW, exclude=["p9"])
    assert found.provider_id == "p1" and found.reasons[0] == "requested_provider_unavailable"


def test_among_passing_providers_of_the_same_name_the_best_is_chosen():
    twin = provider("p8", name="dr. jane smith", focus_areas=("sleep",))
    found = match([NAMED, twin, BEST], replace(NEEDS, provider_name="Dr. Jane Smith"), NOW)
    assert found == Match("p8", ("requested_provider",), 3)


def test_nobody_passing_is_none_even_with_a_name():
    assert match([replace(NAMED, active=False)], replace(NEEDS, provider_name="Dr. Jane Smith"), NOW) is None
    assert match([], NEEDS, NOW) is None


def test_a_blank_name_is_no_request():
    assert "requested_provider_unavailable" not in match([BEST], replace(NEEDS, provider_name="  "), NOW).reasons


# --- the score ---------------------------------------------------------------------------------

def test_three_points_per_shared_focus_area_ignoring_case():
    assert score(provider("p", focus_areas=("ANXIETY", " Sleep ", "grief")), NEEDS, NOW) == 6
    assert score(provider("p", focus_areas=("anxiety", "Anxiety")), NEEDS, NOW) == 3
    assert score(provider("p", focus_areas=("grief",)), NEEDS, NOW) == 0


def test_one_point_for_a_near_time_zone():
    assert score(provider("p", timezone="America/Chicago"), NEEDS, NOW) == 1
    assert score(provider("p", timezone="Europe/Berlin"), NEEDS, NOW) == 0


@pytest.mark.parametrize("tz_a, tz_b, near", [
    (NY, "America/Los_Angeles", True),             # exactly 3 h
    (NY, "America/Anchorage", False),              # 4 h
    (NY, "Pacific/Honolulu", False),
    ("Asia/Kolkata", "Asia/Dubai", True),          # 1.5 h
    ("Asia/Kolkata", "Europe/Berlin", False),      # 4.5 h in January
    ("Europe/London", "Europe/London", True),
    (NY, None, False), (None, NY, False), (NY, "Not/AZone", False),
])
def test_near_time_zones(tz_a, tz_b, near):
    assert near_time_zone(tz_a, tz_b, NOW) is near


def test_offsets_are_the_current_ones_across_the_new_york_spring_forward():
    # Cape Verde is UTC−1 all year; New York is UTC−5 until 8 March 2026 07:00Z, then UTC−4.
    jump = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert utc_offset(NY, jump - timedelta(seconds=1)) == timedelta(hours=-5)
    assert utc_offset(NY, jump) == timedelta(hours=-4)
    assert not near_time_zone(NY, "Atlantic/Cape_Verde", jump - timedelta(seconds=1))
    assert near_time_zone(NY, "Atlantic/Cape_Verde", jump)
    candidate = provider("p", timezone="Atlantic/Cape_Verde")
    assert match([candidate], NEEDS, jump - timedelta(seconds=1)).reasons == ()
    assert match([candidate], NEEDS, jump).reasons == ("near_time_zone",)


def test_the_highest_score_wins_and_focus_outweighs_the_time_zone():
    focus = provider("p2", focus_areas=("sleep",), active_clients=5)
    near = provider("p1", timezone="America/Chicago")
    assert match([near, focus], NEEDS, NOW) == Match("p2", ("focus_match",), 3)
    both = provider("p3", focus_areas=("sleep",), timezone="America/Toronto", active_clients=9)
    assert match([near, focus, both], NEEDS, NOW) == Match("p3", ("focus_match", "near_time_zone"), 4)


def test_the_points_are_settings():
    near = provider("p1", timezone="America/Chicago")
    focus = provider("p2", focus_areas=("sleep",))
    assert match([near, focus], NEEDS, NOW, focus_points=1, near_zone_points=2).provider_id == "p1"
    assert match([near], NEEDS, NOW, near_zone_hours=0).reasons == ()


# --- ties ----------------------------------------------------------------------------------------

def test_a_tie_goes_to_the_fewest_active_clients():
    busy, quiet = provider("a", active_clients=4), provider("b", active_clients=3)
    assert match([busy, quiet], NEEDS, NOW) == Match("b", ("least_busy",), 0)


def test_then_to_the_lowest_id():
    assert match([provider("b"), provider("a")], NEEDS, NOW) == Match("a", ("lowest_id",), 0)
    assert match([provider("p10"), provider("p9")], NEEDS, NOW).provider_id == "p10"   # ids compare as text


def test_both_tie_breaks_can_explain_one_choice():
    found = match([provider("c", active_clients=1), provider("b", active_clients=2), provider("a", active_clients=1)],
                  NEEDS, NOW)
    assert found == Match("a", ("least_busy", "lowest_id"), 0)


def test_a_lower_score_does_not_make_a_tie():
    found = match([provider("a", active_clients=0), provider("b", focus_areas=("sleep",), active_clients=8)], NEEDS, NOW)
    assert found == Match("b", ("focus_match",), 3)


def test_a_lone_candidate_needs_no_tie_break():
    assert match([provider("a")], NEEDS, NOW).reasons == ()


def test_the_choice_does_not_depend_on_the_order_of_candidates():
    pool = [provider("a", active_clients=2), provider("b", active_clients=1), provider("c", active_clients=1),
            provider("d", languages=("fr",)), replace(NAMED, id="e", active_clients=1)]
    answers = {match(list(order), NEEDS, NOW) for order in permutations(pool)}
    assert answers == {Match("b", ("least_busy", "lowest_id"), 0)}


def test_exclude_leaves_out_the_current_provider():
    assert match([BEST, provider("p2")], NEEDS, NOW, exclude={"p1"}).provider_id == "p2"
    assert match([BEST], NEEDS, NOW, exclude=("p1",)) is None


# --- ops assignment ----------------------------------------------------------------------------

ASSIGN = Needs(region="GB-SCT", languages=("en-GB",))


def test_an_assignment_that_passes_is_fine():
    check_assignment(provider("p", licensed_regions=("GB",)), ASSIGN)


@pytest.mark.parametrize("change, code", [
    ({"licensed_regions": ("US",), "languages": ("fr",), "active_clients": 10}, "not_licensed"),
    ({"languages": ("fr",), "active_clients": 10}, "language_mismatch"),
    ({"active_clients": 10}, "at_capacity"),
    ({"accepting": False}, "at_capacity"),
])
def test_assignment_checks_licence_then_language_then_capacity(change, code):
    candidate = provider("p", **{"licensed_regions": ("GB",), **change})
    assert refused(code, check_assignment, candidate, ASSIGN).status == 400
    check_assignment(candidate, ASSIGN, force=True)


def test_at_capacity_says_why():
    error = refused("at_capacity", check_assignment, provider("p", licensed_regions=("GB",), active_clients=10), ASSIGN)
    assert error.details == {"accepting": True, "capacity": 10, "active_clients": 10}


def test_assigning_the_same_pair_again_does_not_count_the_client_twice():
    full = provider("p", licensed_regions=("GB",), active_clients=10)
    check_assignment(full, ASSIGN, already_assigned=True)
    refused("not_licensed", check_assignment, replace(full, licensed_regions=("US",)), ASSIGN, already_assigned=True)


def test_assignment_ignores_gender_preference():
    check_assignment(provider("p", licensed_regions=("GB",), gender="male"), replace(ASSIGN, gender_preference="female"))


# --- a referral client asking a provider directly ----------------------------------------------

REFERRAL = Needs(region="US-NY", languages=("en",), kind="therapist")


def test_a_referral_client_may_ask_a_suitable_provider():
    check_request_provider(provider("p"), REFERRAL, ("audio",))


@pytest.mark.parametrize("change, modalities, code", [
    ({"active": False, "licensed_regions": ()}, ("video",), "not_found"),
    ({"kind": "psychiatrist", "licensed_regions": ()}, ("video",), "not_your_provider"),
    ({"licensed_regions": ("GB",), "languages": ("fr",)}, ("video",), "not_licensed"),
    ({"languages": ("fr",), "accepting": False}, ("video",), "language_mismatch"),
    ({"accepting": False}, ("video",), "at_capacity"),
    ({"active_clients": 10}, ("video",), "at_capacity"),
])
def test_asking_a_provider_checks_in_spec_order(change, modalities, code):
    refused(code, check_request_provider, provider("p", **change), REFERRAL, modalities)


def test_a_provider_must_offer_one_of_the_referrals_modalities():
    psychiatrist = provider("p", kind="psychiatrist", active_clients=10)
    needs = replace(REFERRAL, kind="psychiatrist")
    error = refused("modality_not_allowed", check_request_provider, psychiatrist, needs, ("audio", "chat"))
    assert error.details == {"allowed": ["video"]}
    refused("at_capacity", check_request_provider, psychiatrist, needs, ("audio", "video"))
