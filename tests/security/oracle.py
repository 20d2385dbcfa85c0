"""Who really holds which access package: an oracle for the property tests, independent of pdp.

It is computed only from the policy source read as plain YAML (`roles.yaml`,
`packages/*.yaml`), the register document a test imports and the delegations a test made. It
imports nothing from `pdp`, so a property comparing the PDP's answers with it tests the PDP
rather than the PDP against itself.

The rules, as README.md and the PDP's documentation state them:

- A subject holds a package for a party when it holds, for that party, a role that one of the
  package's grants names, and that grant's organisation-form limit (if it has one) includes
  the party's organisation form. Action `delegate` needs such a grant marked `delegable`.
- Roles the request states (XACML `urn:altinn:rolecode` / `urn:altinn:external-role:ccr`,
  py-abac `subject.attributes.roles`) are used instead of the register's roles. The
  organisation form and the delegations always come from the register and the database, never
  from the request: a party the register does not know has no organisation form, so a grant
  limited to some forms never applies to it.
- A delegation (not revoked) gives `access`, never `delegate`, to its recipient and, when the
  recipient is an organisation, to every person holding a key role in that organisation. The
  package's organisation-form limits still hold: some delegable grant of the package must
  apply to the party's form.
- A package is named by its URN or its bare code, in any case, or by a former URN (alias).
- Actions are exactly `access` and `delegate`.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PERSON = "person"
ORGANIZATION = "organization"
PACKAGE_PREFIX = "urn:altinn:accesspackage:"
SUBJECT_PREFIXES = {
    PERSON: "urn:altinn:person:identifier-no:",
    ORGANIZATION: "urn:altinn:organization:identifier-no:",
}
ROLECODE_ID = "urn:altinn:rolecode"
CCR_ROLE_ID = "urn:altinn:external-role:ccr"
ACCESS = "access"
DELEGATE = "delegate"
ACTIONS = (ACCESS, DELEGATE)

#: A subject: (PERSON or ORGANIZATION, its identifier).
Subject = tuple[str, str]


@dataclass(frozen=True)
class Role:
    code: str
    #: The value of `urn:altinn:rolecode` naming it (`dagl`): the last part of `legacy_urn`.
    rolecode_value: str
    #: The value of `urn:altinn:external-role:ccr` naming it (`daglig-leder`).
    ccr_value: str
    key_role: bool


@dataclass(frozen=True)
class Grant:
    roles: frozenset[str]
    delegable: bool
    #: Empty: no limit.
    org_forms: frozenset[str]

    def applies_to(self, org_form: str | None) -> bool:
        return not self.org_forms or org_form in self.org_forms

    def gives(self, roles: Iterable[str], org_form: str | None, action: str) -> bool:
        return (
            self.applies_to(org_form)
            and (action == ACCESS or self.delegable)
            and not self.roles.isdisjoint(roles)
        )


@dataclass(frozen=True)
class Package:
    urn: str
    aliases: tuple[str, ...]
    grants: tuple[Grant, ...]

    @property
    def code(self) -> str:
        return self.urn.removeprefix(PACKAGE_PREFIX)

    def usable_by_delegation(self, org_form: str | None) -> bool:
        return any(grant.delegable and grant.applies_to(org_form) for grant in self.grants)


@dataclass(frozen=True)
class Delegation:
    """A delegation a test made: `package` (as named) for `party`, to `recipient`."""

    party: str
    package: str
    delegator: str
    recipient: Subject
    revoked: bool = False


class Oracle:
    """Who holds what, from the policy source, a register document and a test's delegations."""

    def __init__(
        self,
        policy_dir: Path,
        register: Mapping[str, Any],
        delegations: Iterable[Delegation] = (),
    ):
        roles_document = yaml.safe_load((policy_dir / "roles.yaml").read_text(encoding="utf-8"))
        self.roles = {
            entry["code"]: Role(
                code=entry["code"],
                rolecode_value=entry["legacy_urn"].rsplit(":", 1)[1],
                ccr_value=entry["urn"].rsplit(":", 1)[1],
                key_role=bool(entry.get("key_role", False)),
            )
            for entry in roles_document["roles"]
        }
        packages = []
        for path in sorted((policy_dir / "packages").glob("*.yaml")):
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            for entry in document["packages"]:
                grants = tuple(
                    Grant(
                        roles=frozenset(grant["roles"]),
                        delegable=bool(grant.get("delegable", False)),
                        org_forms=frozenset(grant.get("org_forms") or ()),
                    )
                    for grant in entry["grants"]
                )
                packages.append(Package(entry["urn"], tuple(entry.get("aliases") or ()), grants))
        self._roles_by_claim = {
            claim: role.code
            for role in self.roles.values()
            for claim in (
                (ROLECODE_ID, role.rolecode_value.casefold()),
                (CCR_ROLE_ID, role.ccr_value.casefold()),
            )
        }
        self.packages = tuple(packages)
        self._packages_by_name = {
            name.casefold(): package
            for package in self.packages
            for name in (package.urn, *package.aliases)
        }

        self.org_forms: dict[str, str] = {}
        self._roles_held: dict[tuple[Subject, str], set[str]] = {}
        for organization in register["organizations"]:
            number = organization["organization_number"]
            self.org_forms[number] = organization["org_form"]
            for role in organization["roles"]:
                kind = PERSON if "person" in role else ORGANIZATION
                holder = (kind, role[kind])
                self._roles_held.setdefault((holder, number), set()).add(role["code"])
        self.delegations = tuple(delegations)

    def with_delegations(self, delegations: Iterable[Delegation]) -> Oracle:
        """The same policies and register, with these delegations instead."""
        oracle = copy.copy(self)
        oracle.delegations = tuple(delegations)
        return oracle

    # --- naming ----------------------------------------------------------------------------

    def package(self, name: object) -> Package | None:
        """The package `name` means: its URN, a former URN or its bare code, in any case."""
        if not isinstance(name, str):
            return None
        folded = name.casefold()
        if not folded.startswith(PACKAGE_PREFIX):
            folded = PACKAGE_PREFIX + folded
        return self._packages_by_name.get(folded)

    def role_named(self, attribute_id: str, value: object) -> str | None:
        """The role code a stated role names: `urn:altinn:rolecode` = `dagl` or
        `urn:altinn:external-role:ccr` = `daglig-leder`, in any case."""
        if not isinstance(value, str):
            return None
        return self._roles_by_claim.get((attribute_id, value.casefold()))

    @property
    def key_roles(self) -> frozenset[str]:
        return frozenset(code for code, role in self.roles.items() if role.key_role)

    @property
    def granting_roles(self) -> frozenset[str]:
        return frozenset(role for p in self.packages for g in p.grants for role in g.roles)

    # --- facts -----------------------------------------------------------------------------

    def roles_held(self, subject: Subject, party: str) -> frozenset[str]:
        """The roles the register says `subject` holds for `party`."""
        return frozenset(self._roles_held.get((subject, party), ()))

    def role_holders(self) -> list[tuple[Subject, str, str]]:
        """Every (holder, organisation, role code) in the register."""
        return [
            (holder, party, code)
            for (holder, party), codes in sorted(self._roles_held.items())
            for code in sorted(codes)
        ]

    def delegated(self, subject: Subject, party: str, package: Package) -> bool:
        """Whether `subject` holds `package` for `party` by a delegation not revoked."""
        for delegation in self.delegations:
            if (
                delegation.revoked
                or delegation.party != party
                or self.package(delegation.package) != package
            ):
                continue
            recipient = delegation.recipient
            if recipient == subject:
                return True
            if (
                recipient[0] == ORGANIZATION
                and subject[0] == PERSON
                and not self.roles_held(subject, recipient[1]).isdisjoint(self.key_roles)
            ):
                return True
        return False

    # --- the decision ----------------------------------------------------------------------

    def holds(
        self,
        subject: Subject,
        party: str,
        package_name: object,
        action: object,
        stated_roles: Iterable[str] | None = None,
    ) -> bool:
        """Whether `subject` may perform `action` on the package named `package_name` for
        `party`; `stated_roles` (role codes), when not None, replace the register's roles, for
        a party in the register."""
        package = self.package(package_name)
        if package is None or action not in ACTIONS:
            return False
        org_form = self.org_forms.get(party)
        if org_form is None:  # a party the register does not know is held by no one
            return False
        roles = self.roles_held(subject, party) if stated_roles is None else set(stated_roles)
        if any(grant.gives(roles, org_form, action) for grant in package.grants):
            return True
        return (
            action == ACCESS
            and package.usable_by_delegation(org_form)
            and self.delegated(subject, party, package)
        )

    def could_permit(self, strings: Iterable[str]) -> bool:
        """Whether any request assembled from these strings could deserve a Permit.

        An upper bound for bodies no test can read exactly (random JSON, mutated requests):
        some subject, party, package and action among the strings such that the subject holds
        the package, by the register's roles or by stating every role the strings name.
        Identifiers only count as strings, never as numbers.
        """
        strings = set(strings)
        subjects: set[Subject] = set()
        for text in strings:
            for kind, prefix in SUBJECT_PREFIXES.items():
                if text.startswith(prefix):
                    subjects.add((kind, text.removeprefix(prefix)))
            subjects.update({(PERSON, text), (ORGANIZATION, text)})
        subjects = {s for s in subjects if _digits(s[1], 11 if s[0] == PERSON else 9)}
        parties = {text for text in strings if _digits(text, 9)}
        packages = {text for text in strings if self.package(text) is not None}
        actions = strings.intersection(ACTIONS)
        stated = {
            code
            for text in strings
            for attribute_id in (ROLECODE_ID, CCR_ROLE_ID)
            if (code := self.role_named(attribute_id, text))
        }
        return any(
            self.holds(subject, party, package, action)
            or (stated and self.holds(subject, party, package, action, stated))
            for subject, party, package, action in itertools.product(
                subjects, parties, packages, actions
            )
        )


def _digits(text: str, length: int) -> bool:
    return len(text) == length and text.isascii() and text.isdigit()


def strings_in(document: Any) -> list[str]:
    """Every string in a JSON document, keys and values, at any depth."""
    found: list[str] = []
    pending = [document]
    while pending:
        node = pending.pop()
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            found.extend(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


# --- identifiers, with their mod-11 check digits (Brønnøysund and Skatteetaten's rules) ------

_ORG_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    check = (11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11) % 11
    return None if check == 10 else check


def organization_number(first_eight: str) -> str | None:
    """The valid organisation number starting with these 8 digits, if there is one."""
    check = _check_digit(first_eight, _ORG_WEIGHTS)
    return None if check is None else f"{first_eight}{check}"


def national_identity_number(first_nine: str) -> str | None:
    """The valid national identity number starting with these 9 digits (a real date: day
    +40 for D-numbers, month +80 for synthetic persons), if there is one."""
    k1 = _check_digit(first_nine, _K1_WEIGHTS)
    k2 = None if k1 is None else _check_digit(f"{first_nine}{k1}", _K2_WEIGHTS)
    return None if k2 is None else f"{first_nine}{k1}{k2}"
