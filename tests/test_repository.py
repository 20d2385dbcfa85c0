"""The policy repository: numbered, immutable policy-set versions and the active one."""

from __future__ import annotations

import copy
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from py_abac import Policy
from sqlalchemy import update

from pdp import catalog as catalog_module
from pdp import compiler
from pdp.catalog import Catalog
from pdp.changes import ChangeLog
from pdp.db import make_engine, policies
from pdp.engine import DecisionRequest
from pdp.errors import NoActivePolicySet, PdpError
from pdp.repository import (
    ActivePolicySet,
    PolicyRepository,
    PolicySet,
    PublishResult,
    VersionConflict,
    content_hash,
)
from pdp.service import Pdp
from pdp.subjects import Subject
from pdp.vocabulary import INDETERMINATE, PERMIT, STATUS_PROCESSING_ERROR
from tests.conftest import KEY_ROLES, POLICY_DIR, REGISTER, RESOURCE_DOCUMENTS
from tests.helpers import open_settings

#: Policies the shipped source compiles to: grants and delegations, and its resources'.
SHIPPED_POLICIES = 51 + RESOURCE_DOCUMENTS

API = "urn:altinn:accesspackage:programmeringsgrensesnitt"
API_NUF = "urn:altinn:accesspackage:programmeringsgrensesnittNUF"
EVENTS = "urn:altinn:accesspackage:maskinlesbarehendelser"


@pytest.fixture
def repository(engine, changes) -> PolicyRepository:
    return PolicyRepository(engine, changes)


def modified_catalog(**changes: Any) -> Catalog:
    """The shipped catalog with the first package's fields changed."""
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    source["packages/integrasjoner.yaml"]["packages"][0].update(changes)
    return catalog_module.parse(source)


def publish(repository: PolicyRepository, catalog: Catalog, **kwargs: Any) -> PublishResult:
    return repository.store_version(catalog, compiler.compile_catalog(catalog), **kwargs)


@pytest.fixture
def policy_set(repository, catalog) -> PolicySet:
    publish(repository, catalog)
    return repository.load(1)


# --- publishing -----------------------------------------------------------------------------


def test_first_publish_creates_version_1_and_activates_it(repository, catalog):
    assert repository.active_version() is None
    assert publish(repository, catalog) == PublishResult(
        version=1, created=True, policies=SHIPPED_POLICIES
    )
    assert repository.active_version() == 1


def test_publishing_the_active_content_again_changes_nothing(repository, catalog):
    publish(repository, catalog)
    again = catalog_module.load(POLICY_DIR)
    assert publish(repository, again) == PublishResult(
        version=1, created=False, policies=SHIPPED_POLICIES
    )
    assert [v.number for v in repository.versions()] == [1]
    assert repository.active_version() == 1


def test_writes_that_change_nothing_leave_every_cache_alone(changes, repository, catalog):
    """Publishing the active content again, or activating the active version, is neither
    counted nor announced: no process drops its cached decisions for it."""
    publish(repository, catalog)
    watcher = changes
    seen = watcher.stamp()
    publish(repository, catalog_module.load(POLICY_DIR))
    assert repository.activate(1, expected_active=1) == 1
    assert watcher.stamp() == seen
    publish(repository, modified_catalog(name="Renamed"))
    assert watcher.stamp() != seen


def test_changed_content_creates_version_2_and_activates_it(repository, catalog):
    publish(repository, catalog)
    changed = modified_catalog(name="Programmeringsgrensesnitt (API), endret")
    assert publish(repository, changed) == PublishResult(
        version=2, created=True, policies=SHIPPED_POLICIES
    )
    assert repository.active_version() == 2


def test_returning_to_earlier_content_is_a_new_version(repository, catalog):
    publish(repository, catalog)
    publish(repository, modified_catalog(name="Endret"))
    assert publish(repository, catalog) == PublishResult(
        version=3, created=True, policies=SHIPPED_POLICIES
    )
    assert repository.active_version() == 3


def test_versions_lists_every_version_oldest_first(repository, catalog):
    publish(repository, catalog, message="first", author="alice")
    changed = modified_catalog(name="Endret")
    publish(repository, changed, message="second", author="bob")
    versions = repository.versions()
    assert [(v.number, v.message, v.author) for v in versions] == [
        (1, "first", "alice"),
        (2, "second", "bob"),
    ]
    assert versions[0].content_hash == content_hash(catalog, compiler.compile_catalog(catalog))
    assert versions[1].content_hash == content_hash(changed, compiler.compile_catalog(changed))
    assert versions[0].content_hash != versions[1].content_hash
    assert versions[0].created_at <= versions[1].created_at


def test_publish_refuses_a_policy_with_a_wildcard_resource_target(repository, catalog):
    documents = compiler.compile_catalog(catalog)
    documents[0]["targets"]["resource_id"] = "urn:altinn:accesspackage:*"
    with pytest.raises(PdpError, match=r"targets\.resource_id must be one literal value"):
        repository.store_version(catalog, documents)
    assert repository.versions() == []
    assert repository.active_version() is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("resource_id", "*"),
        ("resource_id", [API, EVENTS]),
        ("action_id", "*"),
        ("action_id", "acc?ss"),
        ("action_id", "[ad]ccess"),
    ],
)
def test_publish_refuses_targets_the_index_cannot_hold(repository, catalog, name, value):
    documents = compiler.compile_catalog(catalog)
    documents[5]["targets"][name] = value
    with pytest.raises(PdpError, match=rf"{documents[5]['uid']}: targets\.{name}"):
        repository.store_version(catalog, documents)
    assert repository.versions() == []


def test_publish_refuses_a_policy_py_abac_cannot_load(repository, catalog):
    documents = compiler.compile_catalog(catalog)
    del documents[0]["targets"]
    with pytest.raises(PdpError, match=r"not a valid py-abac policy.*targets"):
        repository.store_version(catalog, documents)
    assert repository.versions() == []


def test_concurrent_publishes_based_on_one_version_let_exactly_one_win(
    database_url, repository, catalog
):
    """Eight authors, each on their own connection, publish a different change based on the
    same version at the same moment: one becomes version 2, seven are told of the conflict, and
    nothing of theirs is written."""
    publish(repository, catalog)
    engines = [make_engine(database_url) for _ in range(8)]
    authors = [PolicyRepository(engine, ChangeLog.of(engine, 0)) for engine in engines]
    changes = [modified_catalog(name=f"Change {index}") for index in range(8)]
    barrier = threading.Barrier(8)

    def publish_change(index: int) -> PublishResult | Exception:
        barrier.wait()
        try:
            return publish(authors[index], changes[index], expected_active=1)
        except VersionConflict as conflict:
            return conflict

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(publish_change, range(8)))
    for engine in engines:
        engine.dispose()
    won = [index for index, result in enumerate(results) if isinstance(result, PublishResult)]
    assert len(won) == 1, results
    assert results[won[0]] == PublishResult(version=2, created=True, policies=SHIPPED_POLICIES)
    assert sum(isinstance(result, VersionConflict) for result in results) == 7
    assert [v.number for v in repository.versions()] == [1, 2]
    assert repository.load(2).catalog == changes[won[0]]


def test_publish_based_on_an_older_version_is_refused_and_writes_nothing(repository, catalog):
    publish(repository, catalog)
    publish(repository, modified_catalog(name="Theirs"))
    with pytest.raises(VersionConflict, match="based on version 1, but version 2 is active"):
        publish(repository, modified_catalog(name="Mine"), expected_active=1)
    assert [v.number for v in repository.versions()] == [1, 2]


def test_the_first_publish_may_state_that_no_version_existed(repository, catalog):
    assert publish(repository, catalog, expected_active=0).version == 1
    with pytest.raises(VersionConflict, match="based on version 0, but version 1 is active"):
        publish(repository, modified_catalog(name="Also first"), expected_active=0)


def test_a_catalog_that_grants_nothing_publishes_a_version_with_no_policies(repository):
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    for package in source["packages/integrasjoner.yaml"]["packages"]:
        package["grants"] = []
    # Nor any resource policy, whose rules would compile to policies of their own.
    source = {name: doc for name, doc in source.items() if not name.startswith("resources/")}
    empty = catalog_module.parse(source)
    assert publish(repository, empty) == PublishResult(version=1, created=True, policies=0)
    assert repository.load(1).targets == ()


def test_publish_refuses_two_policies_with_one_uid(repository, catalog):
    documents = compiler.compile_catalog(catalog)
    with pytest.raises(PdpError, match="used more than once"):
        repository.store_version(catalog, [*documents, documents[0]])
    assert repository.versions() == []


def test_version_times_carry_their_time_zone(repository, catalog):
    publish(repository, catalog)
    assert repository.versions()[0].created_at.utcoffset() is not None


# --- loading a version ----------------------------------------------------------------------


def test_loaded_version_holds_the_published_policies_and_catalog(repository, catalog):
    publish(repository, catalog)
    loaded = repository.load(1)
    assert loaded.version == 1
    assert loaded.catalog == catalog
    expected = {p["uid"]: p for p in compiler.compile_catalog(catalog)}
    held = [p for target in loaded.targets for p in loaded.candidates(*target)]
    assert {p.uid: p.to_json() for p in held} == expected


def test_earlier_versions_stay_as_they_were_published(repository, catalog):
    publish(repository, catalog)
    publish(repository, modified_catalog(name="Endret"))
    assert repository.load(1).catalog == catalog
    assert repository.load(2).catalog.package(API).name == "Endret"


def test_loading_a_version_that_does_not_exist_is_refused(repository, catalog):
    publish(repository, catalog)
    with pytest.raises(PdpError, match="version 7 does not exist"):
        repository.load(7)


def expected_uids(package: str, action: str) -> set[str]:
    """The shipped policies for (package, action): one per granting role, and for `access` the
    package's delegation policy."""
    code = package.removeprefix("urn:altinn:accesspackage:")
    uids = {f"grant:{code}:{role}:{action}" for role in KEY_ROLES}
    if action == "access":
        uids.add(f"delegation:{code}:access")
    return uids


@pytest.mark.parametrize("package", [API, API_NUF, EVENTS])
@pytest.mark.parametrize("action", ["access", "delegate"])
def test_candidates_gives_exactly_the_policies_of_that_package_and_action(
    policy_set, package, action
):
    found = list(policy_set.candidates(package, action))
    assert len(found) == (9 if action == "access" else 8)
    assert {p.uid for p in found} == expected_uids(package, action)
    assert all(isinstance(p, Policy) for p in found)
    assert all((p.targets.resource_id, p.targets.action_id) == (package, action) for p in found)


def test_candidates_gives_the_delegation_policy_only_for_access(policy_set):
    access = {p.uid for p in policy_set.candidates(API_NUF, "access")}
    delegate = {p.uid for p in policy_set.candidates(API_NUF, "delegate")}
    assert "delegation:programmeringsgrensesnittNUF:access" in access
    assert not any(uid.startswith("delegation:") for uid in delegate)


def test_candidates_has_no_delegation_policy_for_a_package_nobody_may_delegate(repository):
    source = copy.deepcopy(catalog_module.read_source(POLICY_DIR))
    source["packages/integrasjoner.yaml"]["packages"][2]["grants"][0]["delegable"] = False
    publish(repository, catalog_module.parse(source))
    loaded = repository.load(1)
    assert {p.uid for p in loaded.candidates(EVENTS, "access")} == {
        f"grant:maskinlesbarehendelser:{role}:access" for role in KEY_ROLES
    }
    assert list(loaded.candidates(EVENTS, "delegate")) == []
    assert {p.uid for p in loaded.candidates(API, "access")} == expected_uids(API, "access")


@pytest.mark.parametrize(
    "package",
    [
        API_NUF.upper(),
        API_NUF.lower(),
        "URN:Altinn:AccessPackage:ProgrammeringsgrensesnittNuf",
    ],
)
def test_candidates_matches_package_urns_in_any_case(policy_set, package):
    found = {p.uid for p in policy_set.candidates(package, "access")}
    assert found == expected_uids(API_NUF, "access")


@pytest.mark.parametrize(
    ("package", "action"),
    [
        ("urn:altinn:accesspackage:skatt", "access"),
        ("programmeringsgrensesnitt", "access"),  # bare codes are resolved by package_urn
        (API, "read"),
        (API, "*"),
        ("*", "access"),
        (API + "*", "access"),
    ],
)
def test_candidates_gives_nothing_for_unknown_targets(policy_set, package, action):
    assert list(policy_set.candidates(package, action)) == []


@pytest.mark.parametrize(
    ("name", "urn"),
    [
        ("programmeringsgrensesnittNUF", API_NUF),
        ("PROGRAMMERINGSGRENSESNITTNUF", API_NUF),
        ("maskinlesbarehendelser", EVENTS),
        (EVENTS, EVENTS),
        (EVENTS.upper(), EVENTS),
        ("Urn:Altinn:AccessPackage:programmeringsgrensesnittnuf", API_NUF),
        ("programmeringsgrensesnitt", API),
    ],
)
def test_package_urn_resolves_bare_codes_and_urns_in_any_case(policy_set, name, urn):
    assert policy_set.package_urn(name) == urn


@pytest.mark.parametrize(
    "name", ["skatt", "urn:altinn:accesspackage:skatt", "", "urn:altinn:accesspackage:", "api"]
)
def test_package_urn_is_none_for_unknown_packages(policy_set, name):
    assert policy_set.package_urn(name) is None


# --- parsing policies when their target is first decided -----------------------------------


class Parses:
    """Counts the policies py-abac parses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch):
        self.uids: list[str] = []
        from_json = Policy.from_json

        def counted(document: dict[str, Any]) -> Policy:
            self.uids.append(document["uid"])
            return from_json(document)

        monkeypatch.setattr(Policy, "from_json", counted)


def test_a_loaded_version_parses_a_targets_policies_when_it_is_first_asked_for(
    repository, catalog, monkeypatch
):
    """A process starts with the full catalog's 2,200 policies unparsed; deciding a target
    parses that target's policies, once."""
    publish(repository, catalog)
    parses = Parses(monkeypatch)
    loaded = repository.load(1)
    assert parses.uids == []
    first = list(loaded.candidates(API, "access"))
    assert sorted(parses.uids) == sorted(expected_uids(API, "access"))
    assert list(loaded.candidates(API.upper(), "access")) == first
    assert len(parses.uids) == 9


def test_a_stored_policy_py_abac_refuses_fails_its_own_target_and_nothing_else(pdp):
    """Published policies are checked whole; one spoilt in the database afterwards makes the
    decisions of its target processing errors, never a Permit, and leaves the rest alone."""
    uid = "grant:maskinlesbarehendelser:DAGL:access"
    spoilt = {"uid": uid, "targets": {"resource_id": EVENTS, "action_id": "access"}, "effect": "?"}
    with pdp.database.begin() as connection:
        connection.execute(
            update(policies).where(policies.c.uid == uid).values(body=json.dumps(spoilt))
        )
    manager = Subject("person", REGISTER.as_holders["DAGL"])
    events, api = pdp.engine.decide_all(
        [
            DecisionRequest(manager, REGISTER.as_org, EVENTS, "access"),
            DecisionRequest(manager, REGISTER.as_org, API, "access"),
        ]
    )
    assert (events.decision, events.status) == (INDETERMINATE, STATUS_PROCESSING_ERROR)
    assert api.decision == PERMIT


# --- the active version across processes ----------------------------------------------------


def test_active_policy_set_before_the_first_publish_is_refused(changes, repository):
    with pytest.raises(NoActivePolicySet):
        ActivePolicySet(repository, changes).current()


def test_active_policy_set_sees_a_version_published_by_another_process(database_url, catalog):
    settings = open_settings(database_url, policy_refresh_seconds=0)
    server = Pdp.from_settings(settings)
    operator = Pdp.from_settings(settings)  # its own engine, as another process would have
    try:
        assert server.database is not operator.database
        with pytest.raises(NoActivePolicySet):
            server.policy_sets.current()
        operator.publish(catalog)
        assert server.policy_sets.current().version == 1
        first = server.policy_sets.current()
        assert server.policy_sets.current() is first  # unchanged version: not reloaded
        operator.publish(modified_catalog(name="Endret"))
        current = server.policy_sets.current()
        assert current.version == 2
        assert current.catalog.package(API).name == "Endret"
    finally:
        server.close()
        operator.close()


def test_a_process_elsewhere_keeps_its_version_until_it_polls_the_database(
    engine, repository, catalog
):
    """A process on another machine shares no change file: it learns of a publish from the
    database's change counter, when its refresh interval has passed."""
    elsewhere = ChangeLog(engine, path=None, refresh_seconds=3600)
    active = ActivePolicySet(repository, elsewhere)
    publish(repository, catalog)
    assert active.current().version == 1
    publish(repository, modified_catalog(name="Endret"))
    assert active.current().version == 1
    polling = ActivePolicySet(repository, ChangeLog(engine, path=None, refresh_seconds=0))
    assert polling.current().version == 2


def test_a_process_on_this_machine_switches_at_its_next_decision(engine, repository, catalog):
    active = ActivePolicySet(repository, ChangeLog.of(engine, refresh_seconds=3600))
    publish(repository, catalog)
    assert active.current().version == 1
    publish(repository, modified_catalog(name="Endret"))
    assert active.current().version == 2
