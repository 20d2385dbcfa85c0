"""Policy tests: decision cases that policy authors write next to their policy source.

Like `opa test` or Cedar's `run-tests`, but for a PDP whose facts live in a register: each test
file under `<policy dir>/tests/*.yaml` brings a small register, optional delegations, and cases
(a request and the decision expected, optionally the deciding policy ids). Every file runs in
its own in-memory database against the source as it is on disk, compiled exactly as `pdp
compile` would compile it, so a test proves what a publish would do before it is made.

    description: Integrasjoner
    register: {organizations: [{organization_number: "910459880", name: ..., org_form: AS,
                                roles: [{code: DAGL, person: "02056260016"}]}]}
    delegations:
      - {party: "910459880", package: maskinlesbarehendelser, delegator: "02056260016",
         person: "01025161013"}
    cases:
      - name: Daglig leder may use the API package
        person: "02056260016"
        party: "910459880"
        package: urn:altinn:accesspackage:programmeringsgrensesnitt
        action: access            # default
        expect: Permit
        policies: [grant:programmeringsgrensesnitt:DAGL:access]

A case may name a service resource instead of a package (`resource: ttd-example-api`, or its
URN), with the action its policy names (`read`, `write`, ...; required), and then a system user
as subject too (`system_user: <uuid>`), and the obligations expected (`obligations: [{id: ...,
assignments: [{attribute_id: ..., value: "3"}]}]`). It is asked as a PEP asks it
(`pdp.xacml.items.resource_request`), and decided under the resource's own policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from pdp import catalog as catalog_module
from pdp.catalog import Catalog
from pdp.compiler import compile_catalog
from pdp.config import Settings
from pdp.engine import DecisionRequest, Result, RoleClaim
from pdp.engine.request import ResourceRequest
from pdp.errors import PdpError, Problem, RegisterImportError, SourceError, problems_from_messages
from pdp.identifiers import (
    validate_national_identity_number,
    validate_organization_number,
    validate_uuid,
)
from pdp.resource_policies import RESOURCE_ID_PATTERN, Assignment, Expression
from pdp.service import Pdp
from pdp.subjects import (
    ORGANIZATION,
    PERSON,
    SYSTEM_USER,
    OneSubjectSchema,
    Subject,
    identifier_field,
    subject_of,
)
from pdp.vocabulary import (
    ACCESS,
    ACTIONS,
    DECISIONS,
    ORGANIZATION_ID,
    RESOURCE_URN_PREFIX,
    ROLECODE_ID,
)
from pdp.xacml.items import identifier_named, resource_request

TESTS_DIR = "tests"


class _DelegationSchema(OneSubjectSchema):
    party = identifier_field(validate_organization_number, required=True)
    package = fields.String(required=True, validate=validate.Length(min=1))
    delegator = identifier_field(validate_national_identity_number, required=True)
    system_user = identifier_field(validate_uuid)


class _AssignmentSchema(Schema):
    """An attribute an obligation is expected to carry: the fields given are compared."""

    class Meta:
        unknown = RAISE

    attribute_id = fields.String(required=True)
    value = fields.String(required=True)
    data_type = fields.String()
    category = fields.String()
    issuer = fields.String()


class _ObligationSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(min=1))
    assignments = fields.List(fields.Nested(_AssignmentSchema))


#: A service resource as a case names it: its id, or its URN.
_RESOURCE_NAME = validate.Regexp(
    f"^({RESOURCE_URN_PREFIX})?{RESOURCE_ID_PATTERN.pattern.strip('^$')}$",
    error=f"must be a resource id (lower-case letters, digits, - and _) or {RESOURCE_URN_PREFIX}"
    "<id>",
)


class _CaseSchema(OneSubjectSchema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    party = identifier_field(validate_organization_number, required=True)
    package = fields.String(validate=validate.Length(min=1))
    resource = fields.String(validate=_RESOURCE_NAME)
    system_user = identifier_field(validate_uuid)
    action = fields.String(validate=validate.Length(min=1))
    roles = fields.List(fields.String(validate=validate.Length(min=1)))
    expect = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    policies = fields.List(fields.String())
    obligations = fields.List(fields.Nested(_ObligationSchema))

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        """One package or one resource; one subject, of the kinds the case may name; an action
        that fits. A package case is as it always was (a person or an organisation; `access`
        by default); a resource case may name a system user, names its action and states no
        roles (the PDP works them out, as for a PEP's request)."""
        if ("package" in data) == ("resource" in data):
            raise ValidationError("give exactly one of `package` or `resource`")
        errors: dict[str, list[str]] = {}
        if "resource" in data:
            kinds = (PERSON, ORGANIZATION, SYSTEM_USER)
            if "action" not in data:
                errors["action"] = ["a resource case names its action (read, write, ...)"]
            if "roles" in data:
                errors["roles"] = [
                    "a resource case may not state roles: the PDP works out the roles the "
                    "subject holds for the party itself"
                ]
        else:
            kinds = (PERSON, ORGANIZATION)
            if "system_user" in data:
                errors["system_user"] = ["only a resource case names a system user"]
            if data.get("action", ACCESS) not in ACTIONS:
                errors["action"] = [f"Must be one of: {', '.join(ACTIONS)}."]
        if sum(kind in data for kind in kinds) != 1 and "system_user" not in errors:
            *others, last = (f"`{kind}`" for kind in kinds)
            errors["_schema"] = [f"give exactly one of {', '.join(others)} or {last}"]
        if errors:
            raise ValidationError(errors)


class _TestFileSchema(Schema):
    class Meta:
        unknown = RAISE

    description = fields.String(load_default="")
    register = fields.Dict(load_default=lambda: {"organizations": []})
    delegations = fields.List(fields.Nested(_DelegationSchema), load_default=list)
    cases = fields.List(fields.Nested(_CaseSchema), required=True, validate=validate.Length(min=1))


@dataclass(frozen=True)
class ExpectedObligation:
    """An obligation a case expects: its id and, when given, its assignments in order, each
    compared on the fields the case gives."""

    id: str
    assignments: tuple[dict[str, str], ...] | None

    def matches(self, actual: Expression) -> bool:
        if actual.id != self.id:
            return False
        if self.assignments is None:
            return True
        return len(self.assignments) == len(actual.assignments) and all(
            all(getattr(assignment, key) == value for key, value in expected.items())
            for expected, assignment in zip(self.assignments, actual.assignments, strict=True)
        )

    def describe(self) -> str:
        if self.assignments is None:
            return self.id
        given = ", ".join(
            f"{expected['attribute_id']}={expected['value']}" for expected in self.assignments
        )
        return f"{self.id} ({given})"


@dataclass(frozen=True)
class Case:
    """One expectation: `subject` asking for `action` on access `package`, or on service
    `resource`, for `party`."""

    file: str
    index: int
    name: str
    subject: Subject
    party: str
    package: str | None
    resource: str | None
    action: str
    roles: tuple[str, ...] | None
    expect: str
    policies: frozenset[str] | None
    obligations: tuple[ExpectedObligation, ...] | None

    def describe(self) -> str:
        stated = f" stating roles {', '.join(self.roles)}" if self.roles is not None else ""
        asked = self.package if self.resource is None else RESOURCE_URN_PREFIX + self.resource
        return f"{self.subject.urn}{stated} -> {self.action} {asked} for {self.party}"


@dataclass(frozen=True)
class Outcome:
    """A case and what the PDP actually answered."""

    case: Case
    result: Result

    @property
    def actual_policies(self) -> frozenset[str]:
        return frozenset(policy.uid for policy in self.result.policies)

    @property
    def passed(self) -> bool:
        if self.result.decision != self.case.expect:
            return False
        if self.case.obligations is not None and not _all_matched(
            self.case.obligations, self.result.obligations
        ):
            return False
        return self.case.policies is None or self.case.policies == self.actual_policies

    def report(self) -> str:
        """What a failing case prints: the request, what was expected, what came."""
        expected, actual = self.case.expect, self.result.decision
        if self.case.policies is not None:
            expected += f" by {', '.join(sorted(self.case.policies)) or 'no policy'}"
        if self.actual_policies or self.case.policies is not None:
            actual += f" by {', '.join(sorted(self.actual_policies)) or 'no policy'}"
        if self.case.obligations is not None:
            expected += _obligations_said(o.describe() for o in self.case.obligations)
        if self.result.obligations or self.case.obligations is not None:
            actual += _obligations_said(_described(o) for o in self.result.obligations)
        if self.result.message:
            actual += f" ({self.result.message})"
        return (
            f"FAIL {self.case.file}: cases[{self.case.index}] {self.case.name}\n"
            f"  request:  {self.case.describe()}\n"
            f"  expected: {expected}\n"
            f"  actual:   {actual}"
        )


def _all_matched(expected: Sequence[ExpectedObligation], actual: Sequence[Expression]) -> bool:
    """Whether the actual obligations are the expected ones, in any order: each expected one
    matched by its own actual one, none left over."""
    unmatched = list(actual)
    for obligation in expected:
        match = next((each for each in unmatched if obligation.matches(each)), None)
        if match is None:
            return False
        unmatched.remove(match)
    return not unmatched


def _obligations_said(described: Iterable[str]) -> str:
    return f"; obligations: {', '.join(described) or 'none'}"


def _described(obligation: Expression) -> str:
    return f"{obligation.id} ({', '.join(map(_assignment_said, obligation.assignments))})"


def _assignment_said(assignment: Assignment) -> str:
    return f"{assignment.attribute_id}={assignment.value}"


def run(directory: str | Path) -> list[Outcome]:
    """Run every test file of the policy source in `directory`, in file order.

    Raises SourceError listing every problem of the source or of any test file (nothing is run
    then), and PdpError if there are no test files: a source without tests proves nothing.
    """
    root = Path(directory)
    catalog = catalog_module.load(root)
    files = sorted((root / TESTS_DIR).glob("*.yaml"))
    if not files:
        raise PdpError(f"no test files in {root / TESTS_DIR} (write *.yaml files there)")
    documents = compile_catalog(catalog)
    problems: list[Problem] = []
    loaded = [(name, test_file) for name, test_file in (_read(p, root, problems) for p in files)]
    prepared: list[tuple[Pdp, list[Case]]] = []
    try:
        for name, test_file in loaded:
            if test_file is not None:
                pdp = _prepared_pdp(name, test_file, catalog, documents, problems)
                prepared.append((pdp, _cases(name, test_file)))
        if problems:
            raise SourceError(problems)
        outcomes: list[Outcome] = []
        for pdp, cases in prepared:
            results = pdp.engine.decide_all([_request(case) for case in cases])
            outcomes += [Outcome(case, result) for case, result in zip(cases, results, strict=True)]
        return outcomes
    finally:
        for pdp, _ in prepared:
            pdp.close()


def _read(path: Path, root: Path, problems: list[Problem]) -> tuple[str, dict[str, Any] | None]:
    name = path.relative_to(root).as_posix()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        problems.append(Problem(name, "", f"not valid YAML: {' '.join(str(error).split())}"))
        return name, None
    if not isinstance(document, dict):
        problems.append(Problem(name, "", "must be a mapping at the top level"))
        return name, None
    try:
        return name, _TestFileSchema().load(document)
    except ValidationError as error:
        problems.extend(problems_from_messages(name, error.messages))
        return name, None


def _prepared_pdp(
    name: str,
    test_file: dict[str, Any],
    catalog: Catalog,
    documents: Sequence[dict[str, Any]],
    problems: list[Problem],
) -> Pdp:
    """A fresh in-memory PDP with the source published and this file's facts recorded.

    Delegations are recorded as facts, as given: the PDP does not check here whether their
    delegator could have made them, so a test can set up any situation.
    """
    pdp = Pdp.from_settings(Settings(database_url="sqlite://", policy_refresh_seconds=3600))
    pdp.repository.store_version(catalog, documents, message=f"pdp test {name}")
    try:
        pdp.register.import_document(test_file["register"], catalog)
    except RegisterImportError as error:
        problems += [Problem(name, _join("register", p.path), p.problem) for p in error.problems]
    for index, entry in enumerate(test_file["delegations"]):
        path = f"delegations[{index}]"
        package = pdp.policy_sets.current().package_urn(entry["package"])
        if package is None:
            problems.append(
                Problem(name, f"{path}.package", f"unknown package {entry['package']!r}")
            )
            continue
        try:
            pdp.delegations.add(entry["party"], package, entry["delegator"], subject_of(entry))
        except PdpError as error:
            problems.append(Problem(name, path, str(error)))
    return pdp


def _cases(file: str, test_file: dict[str, Any]) -> list[Case]:
    return [_case(file, index, entry) for index, entry in enumerate(test_file["cases"])]


def _case(file: str, index: int, entry: dict[str, Any]) -> Case:
    resource = entry.get("resource")
    return Case(
        file=file,
        index=index,
        name=entry["name"],
        subject=subject_of(entry),
        party=entry["party"],
        package=entry.get("package"),
        resource=None if resource is None else resource.removeprefix(RESOURCE_URN_PREFIX),
        action=entry.get("action", ACCESS),
        roles=tuple(entry["roles"]) if "roles" in entry else None,
        expect=entry["expect"],
        policies=frozenset(entry["policies"]) if "policies" in entry else None,
        obligations=None
        if "obligations" not in entry
        else tuple(
            ExpectedObligation(
                obligation["id"],
                None if "assignments" not in obligation else tuple(obligation["assignments"]),
            )
            for obligation in entry["obligations"]
        ),
    )


def _request(case: Case) -> DecisionRequest | ResourceRequest:
    if case.resource is not None:
        return resource_request(
            identifier_named(case.subject.urn),
            identifier_named(f"{ORGANIZATION_ID}:{case.party}", party=True),
            case.resource,
            case.action,
        )
    assert case.package is not None  # a case names one or the other (_CaseSchema)
    claims = None
    if case.roles is not None:
        claims = tuple(RoleClaim(ROLECODE_ID, code) for code in case.roles)
    # A policy test is the author's own: the roles it states are honoured.
    return DecisionRequest(
        case.subject, case.party, case.package, case.action, claims, roles_refused=None
    )


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if path else prefix
