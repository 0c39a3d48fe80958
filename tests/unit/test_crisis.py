"""Crisis resources by region: US 988, GB Samaritans and NHS 111, a default everywhere else."""
import pytest

from chalicelib.domain.crisis import regions_covered, resources_for, summary_line


def phones(answer):
    return [resource["phone"] for resource in answer["resources"]]


def test_us_gets_the_988_lifeline_by_call_or_text_and_911():
    answer = resources_for("US")
    assert answer["region"] == "US"
    lifeline = answer["resources"][0]
    assert lifeline["name"] == "988 Suicide & Crisis Lifeline"
    assert lifeline["phone"] == "988" and lifeline["text"] == "988"
    assert "911" in phones(answer)


def test_a_us_state_gets_the_us_resources():
    assert resources_for("US-NY") == resources_for("US")


def test_gb_gets_samaritans_nhs_111_and_999():
    answer = resources_for("GB")
    assert answer["region"] == "GB"
    assert phones(answer) == ["116 123", "111", "999"]
    assert answer["resources"][0]["name"] == "Samaritans"


@pytest.mark.parametrize("region", ["gb", "GB-SCT", "UK", " gb-eng "])
def test_gb_spellings_and_nations_get_the_gb_resources(region):
    assert resources_for(region)["region"] == "GB"


@pytest.mark.parametrize("region", [None, "", "FR", "DE-BY", "ZZ", "???"])
def test_other_or_missing_regions_get_the_default(region):
    answer = resources_for(region)
    assert answer["region"] is None
    urls = [resource.get("url") for resource in answer["resources"]]
    assert "https://findahelpline.com" in urls
    assert "emergency" in answer["resources"][0]["description"]


def test_every_resource_has_a_name_phone_and_description():
    for region in (*regions_covered(), None):
        for resource in resources_for(region)["resources"]:
            assert resource["name"] and resource["description"]
            assert "phone" in resource


def test_answers_are_fresh_copies():
    answer = resources_for("US")
    answer["resources"][0]["phone"] = "changed"
    answer["resources"].clear()
    assert resources_for("US")["resources"][0]["phone"] == "988"


def test_the_summary_line_names_the_numbers_for_the_region():
    assert "988" in summary_line("US-CA") and "911" in summary_line("US")
    assert "116 123" in summary_line("GB") and "111" in summary_line("GB") and "999" in summary_line("GB")
    assert "findahelpline.com" in summary_line("FR") and "findahelpline.com" in summary_line(None)


def test_summary_lines_continue_a_sentence():
    for region in (*regions_covered(), None):
        line = summary_line(region)
        assert line[0].islower() and line.endswith(".")
