"""The shared words: attribute ids map to py-abac keys that objectpath reads, one id one key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from objectpath import Tree

from pdp.vocabulary import (
    ACTION_ID,
    DELEGATED_PACKAGES_KEY,
    ORG_FORM_KEY,
    PACKAGE_ID,
    PARTY_KEY,
    ROLECODE_ID,
    ROLES_KEY,
    attribute_key,
    attribute_path,
    lowercase_attribute_key,
)

URNS = st.text(min_size=0, max_size=30).map(lambda tail: f"urn:{tail}")


def test_keys_spell_the_urn_readably():
    assert attribute_key(ROLECODE_ID) == "urn__altinn__rolecode"
    assert attribute_key(ACTION_ID) == "urn__oasis__names__tc__xacml__1_d0__action__action_hid"
    assert attribute_key("urn:a_b/c") == "urn__a_ub_x2f_c"
    assert lowercase_attribute_key(PACKAGE_ID) == "urn__altinn__accesspackage_l"


@given(URNS, URNS)
def test_two_ids_never_share_a_key(first, second):
    keys = {attribute_key(first), lowercase_attribute_key(first)}
    other = {attribute_key(second), lowercase_attribute_key(second)}
    assert (keys == other) == (first == second)
    assert attribute_key(first) != lowercase_attribute_key(second)


@given(URNS)
def test_objectpath_reads_every_key_by_its_path(attribute_id):
    for key in (attribute_key(attribute_id), lowercase_attribute_key(attribute_id)):
        assert Tree({key: ["value"], "other": ["x"]}).execute(attribute_path(key)) == ["value"]


def test_attribute_keys_never_spell_the_other_keys():
    for key in (ROLES_KEY, DELEGATED_PACKAGES_KEY, PARTY_KEY, ORG_FORM_KEY):
        assert not key.startswith("urn__")
    assert attribute_key("urn:x").startswith("urn__")


def test_only_urns_have_keys():
    with pytest.raises(ValueError, match="must be a URN"):
        attribute_key("roles")
