"""Profile checks: adults only, real time zones, ISO regions, language tags, content types."""
from datetime import date
from pathlib import Path

import pytest

from chalicelib.domain.profiles import (
    ISO_COUNTRIES, age_on, is_adult, normalize_content_type, normalize_region, region_country,
    valid_language, valid_region, valid_timezone,
)


# --- age -------------------------------------------------------------------------------------------

def test_a_client_turning_18_today_is_an_adult():
    assert is_adult(date(2008, 3, 10), date(2026, 3, 10))


def test_a_client_turning_18_tomorrow_is_not():
    assert not is_adult(date(2008, 3, 11), date(2026, 3, 10))


def test_age_counts_whole_years():
    assert age_on(date(1990, 6, 15), date(2026, 6, 14)) == 35
    assert age_on(date(1990, 6, 15), date(2026, 6, 15)) == 36


def test_a_29_february_birthday_comes_round_on_1_march_in_a_common_year():
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18
    assert age_on(date(2008, 2, 29), date(2028, 2, 29)) == 20


def test_a_birth_date_in_the_future_is_not_an_adult():
    assert not is_adult(date(2030, 1, 1), date(2026, 1, 1))


def test_the_minimum_age_is_a_setting():
    assert is_adult(date(2005, 1, 1), date(2026, 1, 1), min_years=21)
    assert not is_adult(date(2006, 1, 2), date(2026, 1, 1), min_years=21)


# --- time zones -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Europe/London", "America/New_York", "Asia/Kathmandu", "UTC"])
def test_real_iana_zones_are_valid(name):
    assert valid_timezone(name)


@pytest.mark.parametrize("name", ["", " ", "Mars/Olympus_Mons", "europe/london", "Europe/London ", "localtime",
                                  "Factory", "../etc/passwd", None, 0])
def test_empty_unknown_misspelt_and_pseudo_zones_are_refused(name):
    assert not valid_timezone(name)


# --- regions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["GB", "US", "US-NY", "GB-SCT", "FR-75", "CA-ON", "IN-MH", "AQ"])
def test_iso_countries_with_optional_subdivisions_are_valid(code):
    assert valid_region(code)


@pytest.mark.parametrize("code", ["", "UK", "ZZ", "XK", "USA", "us-ny", "US-", "US-ABCD", "US_NY", "U",
                                  "GB\n", "-NY", None, 44])
def test_unknown_or_malformed_regions_are_refused(code):
    assert not valid_region(code)


def test_regions_normalise_to_upper_case():
    assert normalize_region(" us-ny ") == "US-NY"
    assert normalize_region("gb") == "GB"
    assert normalize_region("zz") is None


def test_the_country_of_a_region():
    assert region_country("US-NY") == "US"
    assert region_country("GB") == "GB"
    assert region_country("ZZ-1") is None and region_country(None) is None


def test_the_embedded_country_list_has_all_249_iso_codes():
    assert len(ISO_COUNTRIES) == 249
    assert all(len(code) == 2 and code.isupper() for code in ISO_COUNTRIES)


def test_the_embedded_country_list_matches_the_time_zone_database():
    import tzdata

    table = Path(tzdata.__file__).parent / "zoneinfo" / "iso3166.tab"
    if not table.exists():
        pytest.skip("tzdata has no iso3166.tab")
    codes = {line.split("\t")[0] for line in table.read_text().splitlines() if line and not line.startswith("#")}
    assert codes == ISO_COUNTRIES


# --- languages ------------------------------------------------------------------------------------

@pytest.mark.parametrize("tag", ["en", "es", "fil", "pt-BR", "en-GB", "es-419", "zh-Hant", "zh-Hant-TW"])
def test_short_bcp47_tags_are_valid(tag):
    assert valid_language(tag)


@pytest.mark.parametrize("tag", ["", "e", "english", "EN", "en-", "en_US", "en-gb", "en-USA", "en\n", None, 1])
def test_malformed_language_tags_are_refused(tag):
    assert not valid_language(tag)


# --- content types --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, plain", [
    ("audio/webm;codecs=opus", "audio/webm"),
    ("audio/webm; codecs=opus", "audio/webm"),
    ("Video/MP4", "video/mp4"),
    (" audio/mpeg ", "audio/mpeg"),
    ("video/quicktime", "video/quicktime"),
    ("", ""),
    (None, ""),
])
def test_content_types_compare_without_parameters(raw, plain):
    assert normalize_content_type(raw) == plain
