"""`Pdp`, the facade of use cases the API and the command line call.

Each use case does the whole job: what is published or activated is what the very next
decision is made under, a delegation is asked of the PDP before it is stored, and a read names
what it cannot find.
"""

from __future__ import annotations

import copy

import pytest
from sqlalchemy.exc import OperationalError

from pdp import catalog as catalog_module
from pdp.catalog import Catalog
from pdp.delegation_rights import DelegationRefused, InvalidDelegation
from pdp.delegations import DelegationNotFound
from pdp.engine import DecisionRequest
from pdp.errors import NoActivePolicySet
from pdp.repository import ActivePolicySet, UnknownVersion
from pdp.service import Pdp
from pdp.subjects import PERSON, Subject
from pdp.vocabulary import ACCESS, NOT_APPLICABLE, PERMIT
from tests.conftest import REGISTER

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"
MANAGER = Subject(PERSON, REGISTER.as_holders["DAGL"])
BOARD_MEMBER = Subject(PERSON, REGISTER.as_holders["MEDL"])
STRANGER = Subject(PERSON, REGISTER.stranger)


def medl_may_use_the_api(catalog: Catalog) -> Catalog:
    source = copy.deepcopy(catalog.source)
    api = source["packages/integrasjoner.yaml"]["packages"][0]
    api["grants"].append({"roles": ["MEDL"], "delegable": False})
    return catalog_module.parse(source)


def board_member_may_use_the_api(pdp: Pdp) -> str:
    (result,) = pdp.decide([DecisionRequest(BOARD_MEMBER, REGISTER.as_org, API, ACCESS)])
    return result.decision


@pytest.fixture
def empty_pdp(settings):
    service = Pdp.from_settings(settings)
    yield service
    service.close()


class TestAuthoring:
    def test_what_is_published_is_what_the_next_decision_is_made_under(self, pdp, catalog):
        assert board_member_may_use_the_api(pdp) == NOT_APPLICABLE
        published = pdp.publish(medl_may_use_the_api(catalog), expected_active=1)
        assert (published.version, published.created) == (2, True)
        assert board_member_may_use_the_api(pdp) == PERMIT

    def test_what_is_activated_is_what_the_next_decision_is_made_under(self, pdp, catalog):
        pdp.publish(medl_may_use_the_api(catalog))
        assert pdp.activate(1, expected_active=2) == 1
        assert board_member_may_use_the_api(pdp) == NOT_APPLICABLE

    def test_publishing_the_active_content_again_creates_nothing(self, pdp, catalog):
        again = pdp.publish(catalog)
        assert (again.version, again.created) == (1, False)
        assert [v.number for v in pdp.versions().versions] == [1]

    def test_a_version_comes_with_its_source_and_the_active_version(self, pdp, catalog):
        pdp.publish(medl_may_use_the_api(catalog))
        first = pdp.version(1)
        assert (first.info.number, first.active) == (1, 2)
        assert first.source == dict(catalog.source)
        assert pdp.version().info.number == 2

    def test_an_unknown_version_is_named(self, pdp):
        with pytest.raises(UnknownVersion, match="version 9 does not exist"):
            pdp.version(9)

    def test_with_nothing_published_there_is_no_active_version_to_read(self, empty_pdp):
        assert empty_pdp.versions().active is None
        with pytest.raises(UnknownVersion, match="pdp init"):
            empty_pdp.version()


class TestReadiness:
    def test_it_names_the_active_version(self, pdp):
        assert pdp.readiness().version == 1

    def test_with_nothing_published_it_says_how_to_publish(self, empty_pdp):
        readiness = empty_pdp.readiness()
        assert readiness.version is None
        assert "pdp init" in readiness.problem

    def test_an_unreachable_database_is_reported_not_raised(self, pdp, monkeypatch):
        def unreachable(*_: object) -> None:
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))

        monkeypatch.setattr(ActivePolicySet, "current", unreachable)
        readiness = pdp.readiness()
        assert readiness.version is None
        assert readiness.problem == "the policy repository is unavailable"


class TestRegister:
    def test_an_import_needs_an_active_policy_set_to_check_role_codes_against(self, empty_pdp):
        with pytest.raises(NoActivePolicySet):
            empty_pdp.import_register({"organizations": []})


class TestDelegations:
    def test_a_permitted_delegator_delegates_and_the_recipient_holds_the_package(self, pdp):
        made = pdp.delegate(REGISTER.as_org, "maskinlesbarehendelser", MANAGER, STRANGER)
        assert (made.package, made.delegator, made.recipient) == (
            EVENTS,
            MANAGER.identifier,
            STRANGER,
        )
        (result,) = pdp.decide([DecisionRequest(STRANGER, REGISTER.as_org, EVENTS, ACCESS)])
        assert result.decision == PERMIT

    def test_a_delegator_the_pdp_does_not_permit_is_refused_and_nothing_is_stored(self, pdp):
        with pytest.raises(DelegationRefused):
            pdp.delegate(REGISTER.as_org, EVENTS, BOARD_MEMBER, STRANGER)
        assert pdp.find_delegations(party=REGISTER.as_org).total == 0

    def test_an_unknown_package_is_named(self, pdp):
        with pytest.raises(InvalidDelegation) as refused:
            pdp.delegate(REGISTER.as_org, "nosuchpackage", MANAGER, STRANGER)
        assert refused.value.field == "package"
        with pytest.raises(InvalidDelegation):
            pdp.find_delegations(package="nosuchpackage")

    def test_delegations_are_found_by_package_code_and_revoked_by_their_delegator(self, pdp):
        made = pdp.delegate(REGISTER.as_org, EVENTS, MANAGER, STRANGER)
        assert [d.id for d in pdp.find_delegations(package="maskinlesbarehendelser").items] == [
            made.id
        ]
        revoked = pdp.revoke(made.id, MANAGER)
        assert revoked.revoked_by == MANAGER.identifier
        assert pdp.delegation(made.id).revoked_at is not None
        assert pdp.find_delegations(party=REGISTER.as_org).total == 0

    def test_an_unknown_delegation_is_named(self, pdp):
        with pytest.raises(DelegationNotFound, match="no delegation nope"):
            pdp.delegation("nope")
        with pytest.raises(DelegationNotFound):
            pdp.revoke("nope", MANAGER)
