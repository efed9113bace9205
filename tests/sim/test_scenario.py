"""A Scenario built in Python refuses what a config would refuse: a misspelt word."""

import pytest

from sim import ClusterSpec


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [("ttl_mode", "refesh", "insert, refresh"), ("expiry", True, "lazy, active"), ("write_policy", "x", "invalidate")],
)
def test_a_cluster_spec_names_the_words_a_field_allows(field, value, allowed):
    with pytest.raises(ValueError, match=f"{field} must be one of {allowed}.*; got {value!r}"):
        ClusterSpec(**{field: value})
    assert ClusterSpec(ttl_mode="refresh", expiry="active", write_policy="none").expiry == "active"
