"""The start-up check on the deployment's default profile."""

from dsr.checks import check_jurisdiction


def test_a_country_without_a_profile_is_warned_about(settings):
    settings.DSR_COUNTRY = "US"
    warnings = check_jurisdiction(None)
    assert [w.id for w in warnings] == ["dsr.W002"]
    assert "Denmark's (dk)" in warnings[0].msg


def test_a_country_with_a_profile_passes(settings):
    for country in ("DK", "SE", "NO", "FI", "DE", "GB", "BR"):
        settings.DSR_COUNTRY = country
        assert check_jurisdiction(None) == []
