"""What a proposed policy source changes: the rule diff (`pdp.diff.diff`) and the register
impact (`pdp.impact.impact`, through `Pdp.preview`).

The diff compares rules, not text: one (package, role, action, org-form limit) per thing a
grant allows, so a changed limit is the old rule removed and the new one added, a package that
stops being delegable loses its `delegate` rules, and a package renamed with its former URN as
an alias is one rename with no rule changes.

The impact says who gains or loses which package for which party: role holders (persons and
organisations), delegation recipients, and persons holding a key role in an organisation that
received a delegation. It must agree with the decisions the engine makes once the source is
published; the last test checks exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pdp import catalog as catalog_module
from pdp.diff import GrantRule, Rename, ResourceRule, diff
from pdp.engine import DecisionRequest
from pdp.impact import GAINED, LOST, AccessChange
from pdp.service import Pdp
from pdp.subjects import ORGANIZATION, PERSON, Subject, subject
from pdp.vocabulary import ACCESS, DELEGATE, PERMIT
from tests.conftest import KEY_ROLES, POLICY_DIR, RegisterFacts
from tests.helpers import new_organization, new_person

INTEGRASJONER = "packages/integrasjoner.yaml"
PREFIX = "urn:altinn:accesspackage:"
API = f"{PREFIX}programmeringsgrensesnitt"
API_NUF = f"{PREFIX}programmeringsgrensesnittNUF"
EVENTS = f"{PREFIX}maskinlesbarehendelser"
RENAMED_EVENTS = f"{PREFIX}hendelser"
API_INDEX, API_NUF_INDEX, EVENTS_INDEX = 0, 1, 2

Edit = Callable[[dict[str, Any]], Any]


def source_with(*edits: Edit) -> dict[str, Any]:
    """The shipped source with each edit applied to its Integrasjoner packages, by name."""
    source = catalog_module.read_source(POLICY_DIR)
    packages = {p["urn"]: p for p in source[INTEGRASJONER]["packages"]}
    for edit in edits:
        edit(packages)
    return source


def catalog_with(*edits: Edit) -> catalog_module.Catalog:
    return catalog_module.parse(source_with(*edits))


def add_grant(package: str, roles: list[str], *, delegable: bool, **limits: Any) -> Edit:
    return lambda packages: packages[package]["grants"].append(
        {"roles": roles, "delegable": delegable, **limits}
    )


def remove_role(package: str, role: str) -> Edit:
    return lambda packages: packages[package]["grants"][0]["roles"].remove(role)


def not_delegable(package: str) -> Edit:
    def edit(packages: dict[str, Any]) -> None:
        for grant in packages[package]["grants"]:
            grant["delegable"] = False

    return edit


def renamed(package: str, new_urn: str, *, alias: bool) -> Edit:
    def edit(packages: dict[str, Any]) -> None:
        packages[package]["urn"] = new_urn
        if alias:
            packages[package]["aliases"] = [package]

    return edit


def limited(package: str, org_forms: list[str]) -> Edit:
    return lambda packages: packages[package]["grants"][0].update(org_forms=org_forms)


def rules(package: str, roles: tuple[str, ...], actions: tuple[str, ...], forms=()) -> set:
    return {GrantRule(package, role, action, tuple(forms)) for role in roles for action in actions}


@pytest.fixture(scope="module")
def shipped() -> catalog_module.Catalog:
    return catalog_module.load(POLICY_DIR)


# --- the rule diff --------------------------------------------------------------------------


class TestDiff:
    def test_the_same_source_is_unchanged(self, shipped):
        result = diff(shipped, catalog_with())
        assert result.unchanged
        assert (result.grants_added, result.grants_removed, result.packages_renamed) == (
            (),
            (),
            (),
        )

    def test_a_new_delegable_grant_adds_its_access_and_delegate_rules(self, shipped):
        result = diff(shipped, catalog_with(add_grant(EVENTS, ["MEDL"], delegable=True)))
        assert result.grants_added == (
            GrantRule(EVENTS, "MEDL", ACCESS, ()),
            GrantRule(EVENTS, "MEDL", DELEGATE, ()),
        )
        assert result.grants_removed == ()
        assert not result.unchanged

    def test_a_new_grant_that_is_not_delegable_adds_access_only(self, shipped):
        result = diff(shipped, catalog_with(add_grant(EVENTS, ["REGN"], delegable=False)))
        assert result.grants_added == (GrantRule(EVENTS, "REGN", ACCESS, ()),)

    def test_a_role_taken_off_a_grant_removes_its_rules(self, shipped):
        result = diff(shipped, catalog_with(remove_role(API, "DAGL")))
        assert result.grants_removed == (
            GrantRule(API, "DAGL", ACCESS, ()),
            GrantRule(API, "DAGL", DELEGATE, ()),
        )
        assert result.grants_added == ()

    def test_a_changed_org_form_limit_is_the_old_rules_removed_and_the_new_added(self, shipped):
        result = diff(shipped, catalog_with(limited(API_NUF, ["NUF", "AS"])))
        both = (ACCESS, DELEGATE)
        assert set(result.grants_removed) == rules(API_NUF, KEY_ROLES, both, ("NUF",))
        assert set(result.grants_added) == rules(API_NUF, KEY_ROLES, both, ("AS", "NUF"))

    def test_the_order_of_org_forms_in_a_limit_does_not_matter(self, shipped):
        before = catalog_with(limited(API, ["AS", "NUF"]))
        after = catalog_with(limited(API, ["NUF", "AS"]))
        assert diff(before, after).unchanged

    def test_a_limit_added_to_an_unlimited_grant_shows_both_sides(self, shipped):
        result = diff(shipped, catalog_with(limited(EVENTS, ["AS"])))
        assert GrantRule(EVENTS, "DAGL", ACCESS, ()) in result.grants_removed
        assert GrantRule(EVENTS, "DAGL", ACCESS, ("AS",)) in result.grants_added
        assert len(result.grants_removed) == len(result.grants_added) == 16

    def test_a_package_that_stops_being_delegable_loses_only_its_delegate_rules(self, shipped):
        result = diff(shipped, catalog_with(not_delegable(EVENTS)))
        assert set(result.grants_removed) == rules(EVENTS, KEY_ROLES, (DELEGATE,))
        assert result.grants_added == ()

    def test_a_package_renamed_with_an_alias_is_one_rename_and_no_rule_changes(self, shipped):
        result = diff(shipped, catalog_with(renamed(EVENTS, RENAMED_EVENTS, alias=True)))
        assert result.packages_renamed == (Rename(EVENTS, RENAMED_EVENTS),)
        assert (result.packages_added, result.packages_removed) == ((), ())
        assert (result.grants_added, result.grants_removed) == ((), ())
        assert not result.unchanged

    def test_a_rename_with_a_changed_grant_shows_the_rename_and_the_change(self, shipped):
        result = diff(
            shipped,
            catalog_with(renamed(EVENTS, RENAMED_EVENTS, alias=True), remove_role(EVENTS, "BOBE")),
        )
        assert result.packages_renamed == (Rename(EVENTS, RENAMED_EVENTS),)
        assert set(result.grants_removed) == rules(RENAMED_EVENTS, ("BOBE",), (ACCESS, DELEGATE))
        assert result.grants_added == ()

    def test_a_package_renamed_without_an_alias_is_removed_and_another_added(self, shipped):
        result = diff(shipped, catalog_with(renamed(EVENTS, RENAMED_EVENTS, alias=False)))
        assert result.packages_renamed == ()
        assert (result.packages_removed, result.packages_added) == ((EVENTS,), (RENAMED_EVENTS,))
        assert set(result.grants_removed) == rules(EVENTS, KEY_ROLES, (ACCESS, DELEGATE))
        assert set(result.grants_added) == rules(RENAMED_EVENTS, KEY_ROLES, (ACCESS, DELEGATE))

    def test_a_urn_changed_only_in_case_is_a_rename(self, shipped):
        """Requests name packages in any case, so the package stays the same package."""
        lower = f"{PREFIX}programmeringsgrensesnittnuf"
        result = diff(shipped, catalog_with(renamed(API_NUF, lower, alias=False)))
        assert result.packages_renamed == (Rename(API_NUF, lower),)
        assert (result.grants_added, result.grants_removed) == ((), ())

    def test_a_new_package_is_added_with_its_rules(self, shipped):
        new = f"{PREFIX}nytt"
        source = source_with()
        source[INTEGRASJONER]["packages"].append(
            {
                "urn": new,
                "name": "Nytt",
                "description": "Ny pakke.",
                "grants": [{"roles": ["DAGL"], "delegable": False}],
            }
        )
        result = diff(shipped, catalog_module.parse(source))
        assert result.packages_added == (new,)
        assert result.grants_added == (GrantRule(new, "DAGL", ACCESS, ()),)

    def test_a_removed_package_takes_its_rules_with_it(self, shipped):
        source = source_with()
        del source[INTEGRASJONER]["packages"][EVENTS_INDEX]
        result = diff(shipped, catalog_module.parse(source))
        assert result.packages_removed == (EVENTS,)
        assert set(result.grants_removed) == rules(EVENTS, KEY_ROLES, (ACCESS, DELEGATE))

    def test_a_new_name_or_description_changes_no_rule(self, shipped):
        def reword(packages: dict[str, Any]) -> None:
            packages[API]["name"] = "API"
            packages[API]["description"] = "Kortere."

        assert diff(shipped, catalog_with(reword)).unchanged

    def test_against_nothing_published_everything_is_added(self, shipped):
        result = diff(None, shipped)
        assert result.packages_added == tuple(sorted((API, API_NUF, EVENTS)))
        assert (result.packages_removed, result.packages_renamed, result.grants_removed) == (
            (),
            (),
            (),
        )
        assert len(result.grants_added) == 24 * 2
        assert set(result.grants_added) == (
            rules(API, KEY_ROLES, (ACCESS, DELEGATE))
            | rules(API_NUF, KEY_ROLES, (ACCESS, DELEGATE), ("NUF",))
            | rules(EVENTS, KEY_ROLES, (ACCESS, DELEGATE))
        )

    def test_rules_are_listed_in_a_stable_order(self, shipped):
        result = diff(shipped, catalog_with(remove_role(API, "LEDE"), remove_role(API, "DAGL")))
        assert list(result.grants_removed) == sorted(result.grants_removed)


API_POLICY = "resources/ttd-example-api/policy.xml"
EVENTS_POLICY = "resources/ttd-example-events/policy.xml"
ROLE_MATCH = "subject urn:altinn:rolecode = (any case) 'dagl'"
API_RESOURCE_MATCH = "resource urn:altinn:resource = 'ttd-example-api'"


def with_resource_text(
    edit: Callable[[str], str], name: str = API_POLICY
) -> catalog_module.Catalog:
    source = source_with()
    source[name] = edit(source[name])
    return catalog_module.parse(source)


class TestResourceDiff:
    """Resource policies are compared by the conjunctions their rules compile to."""

    def test_against_nothing_published_every_resource_and_rule_is_added(self, shipped):
        result = diff(None, shipped)
        assert result.resources_added == ("ttd-example-api", "ttd-example-events")
        assert len(result.resource_rules_added) == 6
        assert (
            ResourceRule("ttd-example-api", "read", "Permit", (API_RESOURCE_MATCH, ROLE_MATCH))
            in result.resource_rules_added
        )

    def test_the_same_resources_change_nothing(self, shipped):
        assert diff(shipped, shipped).resources_unchanged

    def test_a_rule_permitting_another_action_is_one_rule_removed_and_one_added(self, shipped):
        def dagl_may_write(text: str) -> str:
            """Rule 2 (the last to name an action) permits write instead of read."""
            head, _, tail = text.rpartition(">read</AttributeValue>")
            return f"{head}>write</AttributeValue>{tail}"

        result = diff(shipped, with_resource_text(dagl_may_write))
        added, removed = result.resource_rules_added, result.resource_rules_removed
        assert [str(rule) for rule in added] == [
            f"ttd-example-api: Permit write if {API_RESOURCE_MATCH} and {ROLE_MATCH}"
        ]
        assert [str(rule) for rule in removed] == [
            f"ttd-example-api: Permit read if {API_RESOURCE_MATCH} and {ROLE_MATCH}"
        ]
        assert not result.unchanged

    def test_a_removed_resource_takes_its_rules_with_it(self, shipped):
        source = source_with()
        del source[EVENTS_POLICY]
        result = diff(shipped, catalog_module.parse(source))
        assert result.resources_removed == ("ttd-example-events",)
        assert {rule.resource for rule in result.resource_rules_removed} == {"ttd-example-events"}
        assert len(result.resource_rules_removed) == 3

    def test_a_new_rule_id_or_description_changes_no_rule(self, shipped):
        def reword(text: str) -> str:
            return text.replace("ruleid:1", "ruleid:one").replace(
                "<Description>", "<Description>Now: "
            )

        assert diff(shipped, with_resource_text(reword)).unchanged

    def test_a_changed_obligation_names_the_resource_as_changed(self, shipped):
        def level_4(text: str) -> str:
            return text.replace('#integer">3<', '#integer">4<')

        result = diff(shipped, with_resource_text(level_4))
        assert result.resources_changed == ("ttd-example-api",)
        assert (result.resource_rules_added, result.resource_rules_removed) == ((), ())
        assert not result.unchanged


# --- the register impact --------------------------------------------------------------------


def person(identifier: str) -> str:
    return Subject(PERSON, identifier).urn


def organization(identifier: str) -> str:
    return Subject(ORGANIZATION, identifier).urn


def both_actions(subject_urn: str, party: str, package: str, change: str) -> set[AccessChange]:
    return {AccessChange(subject_urn, party, package, a, change) for a in (ACCESS, DELEGATE)}


@pytest.fixture
def facts(register_facts: RegisterFacts) -> RegisterFacts:
    return register_facts


@pytest.fixture
def client_firm(pdp: Pdp, catalog) -> dict[str, str]:
    """An accounting firm in the register: one person holds a key role in it (DAGL), one a role
    that is not a key role (MEDL)."""
    firm = {"number": new_organization(), "DAGL": new_person(), "MEDL": new_person()}
    pdp.register.import_document(
        {
            "organizations": [
                {
                    "organization_number": firm["number"],
                    "name": "KLIENTFIRMA AS",
                    "org_form": "AS",
                    "roles": [
                        {"code": "DAGL", "person": firm["DAGL"]},
                        {"code": "MEDL", "person": firm["MEDL"]},
                    ],
                }
            ]
        },
        catalog,
    )
    return firm


def delegate_events(pdp: Pdp, facts: RegisterFacts, recipient: Subject, package=EVENTS) -> None:
    delegator = subject(PERSON, facts.as_holders["DAGL"])
    pdp.delegate(facts.as_org, package, delegator, recipient)


class TestImpact:
    def test_the_preview_is_based_on_the_active_version(self, pdp):
        assert pdp.preview(catalog_with()).base_version == 1

    def test_the_same_source_changes_no_ones_access(self, pdp):
        impact = pdp.preview(catalog_with()).impact
        assert impact.changes == ()
        assert (impact.gained, impact.lost, impact.subjects, impact.parties) == (0, 0, 0, 0)

    def test_role_holders_lose_what_their_role_no_longer_grants(self, pdp, facts):
        impact = pdp.preview(catalog_with(remove_role(API, "DAGL"))).impact
        assert set(impact.changes) == both_actions(
            person(facts.as_holders["DAGL"]), facts.as_org, API, LOST
        ) | both_actions(person(facts.nuf_holders["DAGL"]), facts.nuf_org, API, LOST)
        assert impact.by_package() == {API: {GAINED: 0, LOST: 4}}

    def test_an_organisation_holding_a_role_gains_like_a_person(self, pdp, facts):
        impact = pdp.preview(catalog_with(add_grant(EVENTS, ["REGN"], delegable=False))).impact
        assert set(impact.changes) == {
            AccessChange(person(facts.as_holders["REGN"]), facts.as_org, EVENTS, ACCESS, GAINED),
            AccessChange(organization(facts.firm), facts.as_org, EVENTS, ACCESS, GAINED),
        }

    def test_an_org_form_limit_keeps_holders_at_other_forms_out(self, pdp, facts):
        impact = pdp.preview(catalog_with(limited(EVENTS, ["NUF"]))).impact
        assert {change.party for change in impact.changes} == {facts.as_org}
        assert impact.lost == 16  # the AS's eight key-role holders, access and delegate
        assert impact.gained == 0

    def test_a_person_recipient_loses_access_when_the_package_is_no_longer_delegable(
        self, pdp, facts
    ):
        delegate_events(pdp, facts, subject(PERSON, facts.stranger))
        impact = pdp.preview(catalog_with(not_delegable(EVENTS))).impact
        recipient = [c for c in impact.changes if c.subject_urn == person(facts.stranger)]
        assert recipient == [
            AccessChange(person(facts.stranger), facts.as_org, EVENTS, ACCESS, LOST)
        ]

    def test_an_organisation_recipient_and_its_key_role_holders_lose_access_but_no_one_else(
        self, pdp, facts, client_firm
    ):
        delegate_events(pdp, facts, subject(ORGANIZATION, client_firm["number"]))
        impact = pdp.preview(catalog_with(not_delegable(EVENTS))).impact
        at_as = {
            change.subject_urn
            for change in impact.changes
            if change.party == facts.as_org and change.action == ACCESS
        }
        assert at_as == {organization(client_firm["number"]), person(client_firm["DAGL"])}
        assert person(client_firm["MEDL"]) not in {c.subject_urn for c in impact.changes}

    def test_making_a_role_a_key_role_reaches_its_holders_through_organisation_delegations(
        self, pdp, facts, client_firm
    ):
        delegate_events(pdp, facts, subject(ORGANIZATION, client_firm["number"]))
        source = source_with()
        medl = next(role for role in source["roles.yaml"]["roles"] if role["code"] == "MEDL")
        medl["key_role"] = True
        impact = pdp.preview(catalog_module.parse(source)).impact
        assert impact.changes == (
            AccessChange(person(client_firm["MEDL"]), facts.as_org, EVENTS, ACCESS, GAINED),
        )

    def test_a_package_renamed_with_an_alias_is_not_lost_and_gained(self, pdp, facts):
        delegate_events(pdp, facts, subject(PERSON, facts.stranger))
        impact = pdp.preview(catalog_with(renamed(EVENTS, RENAMED_EVENTS, alias=True))).impact
        assert impact.changes == ()

    def test_a_package_renamed_without_an_alias_is_lost_and_the_new_one_gained(self, pdp, facts):
        delegate_events(pdp, facts, subject(PERSON, facts.stranger))
        impact = pdp.preview(catalog_with(renamed(EVENTS, RENAMED_EVENTS, alias=False))).impact
        assert impact.by_package() == {
            # 16 key-role holders (AS and NUF), access and delegate; the delegation's recipient
            # keeps a delegation of a URN that no longer exists.
            EVENTS: {GAINED: 0, LOST: 33},
            RENAMED_EVENTS: {GAINED: 32, LOST: 0},
        }
        assert AccessChange(person(facts.stranger), facts.as_org, EVENTS, ACCESS, LOST) in (
            impact.changes
        )

    def test_a_party_not_in_the_register_has_no_org_form_as_in_the_engine(self, pdp, facts):
        """A NUF-limited package delegated for an organisation the register does not know (a
        stored fact the API would not make today): the limit cannot hold, so the recipient is
        refused; lifting the limit gives them the package, and the preview says so."""
        unknown_party = new_organization()
        recipient = subject(PERSON, facts.stranger)
        pdp.delegations.add(unknown_party, API_NUF, facts.nuf_holders["DAGL"], recipient)
        request = DecisionRequest(recipient, unknown_party, API_NUF, ACCESS)
        assert pdp.engine.decide(request).decision == "NotApplicable"

        unlimited = catalog_with(lambda packages: packages[API_NUF]["grants"][0].pop("org_forms"))
        impact = pdp.preview(unlimited).impact
        gained = AccessChange(recipient.urn, unknown_party, API_NUF, ACCESS, GAINED)
        assert gained in impact.changes
        # The AS's key-role holders gain the package too; the NUF's had it already.
        assert {change.party for change in impact.changes} == {facts.as_org, unknown_party}

        pdp.publish(unlimited)
        assert pdp.engine.decide(request).decision == PERMIT

    def test_counts_cover_every_change(self, pdp, facts):
        impact = pdp.preview(catalog_with(add_grant(EVENTS, ["MEDL"], delegable=True))).impact
        assert (impact.gained, impact.lost, impact.subjects, impact.parties) == (2, 0, 1, 1)
        assert impact.by_package() == {EVENTS: {GAINED: 2, LOST: 0}}

    def test_changes_are_sorted_by_subject_party_package_and_action(self, pdp):
        impact = pdp.preview(catalog_with(not_delegable(EVENTS), remove_role(API, "DAGL"))).impact
        assert list(impact.changes) == sorted(impact.changes)

    def test_with_nothing_published_every_holder_gains_what_the_source_grants(
        self, settings, catalog, facts
    ):
        empty = Pdp.from_settings(settings)
        try:
            empty.register.import_document(facts.document, catalog)
            preview = empty.preview(catalog)
        finally:
            empty.close()
        assert preview.base_version is None
        assert len(preview.source.packages_added) == 3
        impact = preview.impact
        # At the AS two packages, at the NUF three; access and delegate; eight holders each.
        assert (impact.gained, impact.lost, impact.subjects, impact.parties) == (80, 0, 16, 2)


class TestImpactAgreesWithTheEngine:
    def test_the_preview_lists_exactly_the_decisions_that_change_when_published(
        self, pdp, facts, client_firm
    ):
        delegate_events(pdp, facts, subject(PERSON, facts.stranger))
        delegate_events(pdp, facts, subject(ORGANIZATION, client_firm["number"]), package=API)
        proposed = catalog_with(
            remove_role(API, "DAGL"),
            not_delegable(EVENTS),
            add_grant(EVENTS, ["MEDL", "REGN"], delegable=False, org_forms=["AS"]),
            add_grant(API_NUF, ["NEST"], delegable=True),
        )
        people = [
            *[(h, facts.as_org) for h in facts.as_holders.values()],
            *[(h, facts.nuf_org) for h in facts.nuf_holders.values()],
            (facts.stranger, facts.as_org),
            (client_firm["DAGL"], facts.as_org),
            (client_firm["MEDL"], facts.as_org),
            (client_firm["DAGL"], client_firm["number"]),
            (client_firm["MEDL"], client_firm["number"]),
        ]
        pairs = [(subject(PERSON, identifier), party) for identifier, party in people]
        pairs += [
            (subject(ORGANIZATION, facts.firm), facts.as_org),
            (subject(ORGANIZATION, client_firm["number"]), facts.as_org),
        ]

        def permitted() -> set[tuple[str, str, str, str]]:
            return {
                (who.urn, party, package, action)
                for who, party in pairs
                for package in (API, API_NUF, EVENTS)
                for action in (ACCESS, DELEGATE)
                if pdp.engine.decide(DecisionRequest(who, party, package, action)).decision
                == PERMIT
            }

        before = permitted()
        preview = pdp.preview(proposed)
        pdp.publish(proposed)
        after = permitted()

        predicted = {
            (c.subject_urn, c.party, c.package, c.action, c.change) for c in preview.impact.changes
        }
        actual = {(*p, GAINED) for p in after - before} | {(*p, LOST) for p in before - after}
        assert predicted == actual
        assert predicted  # the change does reach someone
