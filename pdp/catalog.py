"""The policy source: ER roles, organisation forms, areas, access packages and their grants.

Policy authors write YAML under `policies/`; this module reads it, validates it with marshmallow,
and turns it into plain, immutable data objects. Nothing here knows about requests, databases or
py-abac: the compiler and the engine consume a `Catalog`, and the role-to-package table exists
only in the source documents it was built from.

A source is a mapping from file names (relative to the policy directory) to parsed documents:
`roles.yaml`, `org_forms.yaml` and one `packages/<area>.yaml` per area, and for each service
resource with a policy, `resources/<resource-id>/policy.xml`, kept as its XML text (read and
checked by `pdp.resource_policies`). The same mapping is stored with every published
policy-set version, so a running server never needs the directory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from pdp import resource_policies, safe_xml
from pdp.errors import Problem, SourceError, problems_from_messages
from pdp.resource_policies import RESOURCES_DIR, ResourcePolicy
from pdp.vocabulary import (
    CCR_ROLE_ID,
    CCR_ROLE_URN_PREFIX,
    LEGACY_ROLE_URN_PREFIX,
    PACKAGE_URN_PREFIX,
    ROLECODE_ID,
    ascii_lower,
)

ROLES_FILE = "roles.yaml"
ORG_FORMS_FILE = "org_forms.yaml"
PACKAGES_DIR = "packages"

_PACKAGE_CODE = r"[A-Za-z0-9][A-Za-z0-9-]*"
_PACKAGE_URN = re.compile(rf"^{PACKAGE_URN_PREFIX}{_PACKAGE_CODE}$")
_CCR_ROLE_URN = re.compile(r"^urn:altinn:external-role:ccr:[a-z0-9][a-z0-9-]*$")
_LEGACY_ROLE_URN = re.compile(r"^urn:altinn:rolecode:[a-zæøå0-9]+$")
_ROLE_CODE = re.compile(r"^[A-ZÆØÅ0-9]{2,8}$")
_ORG_FORM_CODE = re.compile(r"^[A-ZÆØÅ]{2,6}$")
_AREA_CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


# --- plain data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    """An ER role: who may hold it is the register's business, what it grants the packages'."""

    code: str
    name: str
    urn: str
    legacy_urn: str
    #: Altinn's key roles: holders act for their organisation when it receives a delegation.
    key_role: bool = False

    @property
    def rolecode_value(self) -> str:
        """The value a request carries in `urn:altinn:rolecode` (e.g. `dagl`)."""
        return self.legacy_urn.removeprefix(LEGACY_ROLE_URN_PREFIX)

    @property
    def ccr_value(self) -> str:
        """The value a request carries in `urn:altinn:external-role:ccr` (e.g. `daglig-leder`)."""
        return self.urn.removeprefix(CCR_ROLE_URN_PREFIX)


@dataclass(frozen=True)
class OrgForm:
    """An Enhetsregisteret organisation form (AS, ENK, NUF, ...)."""

    code: str
    name: str


@dataclass(frozen=True)
class Area:
    """A group of access packages (fullmaktsområde)."""

    code: str
    name: str
    description: str


@dataclass(frozen=True)
class Grant:
    """One role's hold on one package, possibly limited to some organisation forms."""

    role: str
    package: str
    delegable: bool
    org_forms: tuple[str, ...]


@dataclass(frozen=True)
class Package:
    """An access package (tilgangspakke) and the grants that give it."""

    urn: str
    name: str
    description: str
    area: str
    grants: tuple[Grant, ...]
    #: Former URNs of a renamed package; requests and delegations naming one mean this package.
    aliases: tuple[str, ...] = ()

    @property
    def delegable(self) -> bool:
        """Whether any grant of this package lets its holders delegate it."""
        return any(grant.delegable for grant in self.grants)

    @property
    def code(self) -> str:
        """The package's short name, the URN without its prefix (e.g. `maskinlesbarehendelser`)."""
        return self.urn.removeprefix(PACKAGE_URN_PREFIX)


@dataclass(frozen=True)
class Catalog:
    """A validated policy source, and the source documents it came from."""

    roles: tuple[Role, ...]
    org_forms: tuple[OrgForm, ...]
    areas: tuple[Area, ...]
    packages: tuple[Package, ...]
    source: Mapping[str, Any]
    #: The service resources' policies, by resource id.
    resources: tuple[ResourcePolicy, ...] = ()
    #: What is accepted but worth an author's look (e.g. a role our register never supplies).
    warnings: tuple[Problem, ...] = ()

    @property
    def grants(self) -> tuple[Grant, ...]:
        return tuple(grant for package in self.packages for grant in package.grants)

    def role(self, code: str) -> Role:
        """The role with this code (KeyError for a code the catalog does not have)."""
        return self._roles_by_code[code]

    @cached_property
    def role_codes(self) -> frozenset[str]:
        return frozenset(self._roles_by_code)

    @cached_property
    def _roles_by_code(self) -> dict[str, Role]:
        return {role.code: role for role in self.roles}

    @cached_property
    def key_roles(self) -> frozenset[str]:
        """Codes of the key roles (DAGL, LEDE, ... as `roles.yaml` marks them)."""
        return frozenset(role.code for role in self.roles if role.key_role)

    def package(self, urn: str) -> Package:
        return next(package for package in self.packages if package.urn == urn)

    def package_named(self, name: str) -> Package | None:
        """The package a name means: its URN, a former URN (alias), or either's bare code,
        in any case; None if no package has it."""
        return self._package_names.get(_package_key(name))

    @cached_property
    def _package_names(self) -> dict[str, Package]:
        return _package_names(self.packages)

    def resource(self, resource_id: str) -> ResourcePolicy:
        return next(policy for policy in self.resources if policy.resource_id == resource_id)

    def role_code_for(self, attribute_id: str, value: str) -> str | None:
        """The role code a request attribute names (`urn:altinn:rolecode` = `dagl` as Altinn
        spells it, or `DAGL` as the register does; `urn:altinn:external-role:ccr` =
        `daglig-leder`), in any ASCII case (`vocabulary.ascii_lower`: `FFØR` and `ffør` are
        both the role, `FFøR` too, but not a spelling only Unicode folds onto them); None if
        no role has it."""
        return self._role_codes_by_claim.get((ascii_lower(attribute_id), ascii_lower(value)))

    @cached_property
    def _role_codes_by_claim(self) -> dict[tuple[str, str], str]:
        claims = {}
        for role in self.roles:
            claims[(ROLECODE_ID, ascii_lower(role.rolecode_value))] = role.code
            claims[(ROLECODE_ID, ascii_lower(role.code))] = role.code
            claims[(CCR_ROLE_ID, ascii_lower(role.ccr_value))] = role.code
        return claims


def _package_names(packages: tuple[Package, ...]) -> dict[str, Package]:
    return {
        ascii_lower(name): package
        for package in packages
        for name in (package.urn, *package.aliases)
    }


def _package_key(name: str) -> str:
    urn = package_urn_form(name)
    return "" if urn is None else ascii_lower(urn)


def package_urn_form(name: str) -> str | None:
    """A package named by URN (prefix in any case) or bare code, as a URN with the prefix
    written as published; None when `name` is neither."""
    # The prefix is compared as ASCII, letter for letter: folding first would let a character
    # such as "ß" (folded: "ss") shift where the code starts.
    head = name[: len(PACKAGE_URN_PREFIX)]
    code = (
        name[len(PACKAGE_URN_PREFIX) :]
        if head.isascii() and head.lower() == PACKAGE_URN_PREFIX
        else name
    )
    return PACKAGE_URN_PREFIX + code if re.fullmatch(_PACKAGE_CODE, code) else None


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no ASCII escaping, one trailing newline."""
    return (json.dumps(value, sort_keys=True, ensure_ascii=False, indent=2) + "\n").encode()


# --- schemas --------------------------------------------------------------------------------


def _matching(pattern: re.Pattern[str], what: str) -> validate.Regexp:
    return validate.Regexp(pattern, error=f"malformed {what} {{input}}")


class _StrictBoolean(fields.Boolean):
    """Only YAML true/false: "yes", 1 or "false" are mistakes an author should hear about."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class _RoleSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=_matching(_ROLE_CODE, "role code"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    urn = fields.String(required=True, validate=_matching(_CCR_ROLE_URN, "role URN"))
    legacy_urn = fields.String(
        required=True, validate=_matching(_LEGACY_ROLE_URN, "legacy role URN")
    )
    key_role = _StrictBoolean(load_default=False)


class _RolesFileSchema(Schema):
    class Meta:
        unknown = RAISE

    roles = fields.List(fields.Nested(_RoleSchema), required=True, validate=validate.Length(min=1))


class _OrgFormSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=_matching(_ORG_FORM_CODE, "organisation form"))
    name = fields.String(required=True, validate=validate.Length(min=1))


class _OrgFormsFileSchema(Schema):
    class Meta:
        unknown = RAISE

    org_forms = fields.List(
        fields.Nested(_OrgFormSchema), required=True, validate=validate.Length(min=1)
    )


class _GrantSchema(Schema):
    class Meta:
        unknown = RAISE

    roles = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    delegable = _StrictBoolean(required=True)
    org_forms = fields.List(fields.String(), validate=validate.Length(min=1))


class _PackageSchema(Schema):
    class Meta:
        unknown = RAISE

    urn = fields.String(required=True, validate=_matching(_PACKAGE_URN, "package URN"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    description = fields.String(required=True, validate=validate.Length(min=1))
    grants = fields.List(fields.Nested(_GrantSchema), required=True)
    aliases = fields.List(
        fields.String(validate=_matching(_PACKAGE_URN, "package URN")), load_default=list
    )


class _AreaSchema(Schema):
    class Meta:
        unknown = RAISE

    code = fields.String(required=True, validate=_matching(_AREA_CODE, "area code"))
    name = fields.String(required=True, validate=validate.Length(min=1))
    description = fields.String(required=True, validate=validate.Length(min=1))


class _PackagesFileSchema(Schema):
    class Meta:
        unknown = RAISE

    area = fields.Nested(_AreaSchema, required=True)
    # An area may have no packages yet (Altinn has such areas); `packages: []` says so.
    packages = fields.List(fields.Nested(_PackageSchema), required=True)


# --- loading --------------------------------------------------------------------------------


def read_source(directory: str | Path) -> dict[str, Any]:
    """Read the YAML files of a policy directory into a source mapping (no validation yet)."""
    root = Path(directory)
    if not root.is_dir():
        raise SourceError([Problem(str(root), "", "policy directory not found")])
    names = [ROLES_FILE, ORG_FORMS_FILE]
    names += sorted(
        path.relative_to(root).as_posix() for path in (root / PACKAGES_DIR).glob("*.yaml")
    )
    source: dict[str, Any] = {}
    problems: list[Problem] = []
    for name in names:
        path = root / name
        try:
            source[name] = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            problems.append(Problem(name, "", "file not found"))
        except yaml.YAMLError as error:
            problems.append(Problem(name, "", f"not valid YAML: {' '.join(str(error).split())}"))
    _read_resource_policies(root, source, problems)
    if problems:
        raise SourceError(problems)
    return source


def _read_resource_policies(root: Path, source: dict[str, Any], problems: list[Problem]) -> None:
    """Add `resources/<resource-id>/policy.xml` files to `source` as text; anything else under
    `resources/` is a problem (a misnamed file would otherwise be a policy silently missing)."""
    directory = root / RESOURCES_DIR
    if not directory.is_dir():
        return
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_dir():
            if path.parent == directory and not (path / resource_policies.POLICY_FILE).is_file():
                problems.append(Problem(name, "", f"no {resource_policies.POLICY_FILE}"))
            continue
        if resource_policies.resource_id_of(name) is None:
            problems.append(Problem(name, "", _RESOURCE_FILE_PROBLEM))
            continue
        try:
            with path.open("rb") as stream:
                data = stream.read(safe_xml.MAX_XML_BYTES + 1)
            source[name] = safe_xml.decode(data)
        except safe_xml.XmlError as error:
            problems.append(Problem(name, "", error.message))


_RESOURCE_FILE_PROBLEM = (
    "unexpected file: a resource's policy is resources/<resource-id>/policy.xml, the id in "
    "lower-case letters, digits, - and _"
)


def load(directory: str | Path) -> Catalog:
    """Read and validate a policy directory. Raises SourceError listing every problem."""
    return parse(read_source(directory))


def parse(source: Mapping[str, Any]) -> Catalog:
    """Validate a source mapping and build its Catalog, or raise SourceError with every problem.

    A source is refused as a whole: one bad grant rejects every file, so the policies in force
    stay as they were.
    """
    problems: list[Problem] = []
    roles_doc = _load_document(source, ROLES_FILE, _RolesFileSchema(), problems)
    forms_doc = _load_document(source, ORG_FORMS_FILE, _OrgFormsFileSchema(), problems)
    package_files = sorted(name for name in source if name.startswith(f"{PACKAGES_DIR}/"))
    resource_files = sorted(name for name in source if name.startswith(f"{RESOURCES_DIR}/"))
    unexpected = sorted(set(source) - {ROLES_FILE, ORG_FORMS_FILE, *package_files, *resource_files})
    problems += [Problem(name, "", "unexpected file in policy source") for name in unexpected]
    if not package_files:
        problems.append(Problem(f"{PACKAGES_DIR}/", "", "no package files"))
    package_docs = {
        name: _load_document(source, name, _PackagesFileSchema(), problems)
        for name in package_files
    }

    roles = _build_roles(roles_doc, problems)
    org_forms = _build_org_forms(forms_doc, problems)
    areas, packages = _build_packages(package_docs, roles, org_forms, problems)
    warnings: list[Problem] = []
    # Package references are checked against a sound source only: with a package file broken
    # or a package refused, each reference to it would repeat that one problem.
    resources = _build_resources(
        source, resource_files, roles, None if problems else packages, problems, warnings
    )
    if problems or roles is None or org_forms is None:
        raise SourceError(problems)
    return Catalog(
        roles=tuple(roles.values()),
        org_forms=tuple(org_forms.values()),
        areas=tuple(areas),
        packages=tuple(packages),
        source=json.loads(json.dumps(dict(source))),
        resources=tuple(resources),
        warnings=tuple(warnings),
    )


def _load_document(
    source: Mapping[str, Any], name: str, schema: Schema, problems: list[Problem]
) -> dict[str, Any] | None:
    if name not in source:
        problems.append(Problem(name, "", "file not found"))
        return None
    document = source[name]
    if not isinstance(document, dict):
        problems.append(Problem(name, "", "must be a mapping at the top level"))
        return None
    try:
        return schema.load(document)
    except ValidationError as error:
        problems.extend(problems_from_messages(name, error.messages))
        return None


def _build_roles(document: dict | None, problems: list[Problem]) -> dict[str, Role] | None:
    if document is None:
        return None
    roles: dict[str, Role] = {}
    seen_urns: set[str] = set()
    for index, entry in enumerate(document["roles"]):
        role = Role(**entry)
        path = f"roles[{index}]"
        if role.code in roles:
            problems.append(Problem(ROLES_FILE, f"{path}.code", f"duplicate role code {role.code}"))
        for field_name in ("urn", "legacy_urn"):
            urn = getattr(role, field_name)
            if urn in seen_urns:
                problems.append(Problem(ROLES_FILE, f"{path}.{field_name}", f"duplicate URN {urn}"))
            seen_urns.add(urn)
        roles.setdefault(role.code, role)
    return roles


def _build_org_forms(document: dict | None, problems: list[Problem]) -> dict[str, OrgForm] | None:
    if document is None:
        return None
    forms: dict[str, OrgForm] = {}
    for index, entry in enumerate(document["org_forms"]):
        form = OrgForm(**entry)
        if form.code in forms:
            problems.append(
                Problem(
                    ORG_FORMS_FILE,
                    f"org_forms[{index}].code",
                    f"duplicate organisation form {form.code}",
                )
            )
        forms.setdefault(form.code, form)
    return forms


def _build_packages(
    documents: dict[str, dict | None],
    roles: dict[str, Role] | None,
    org_forms: dict[str, OrgForm] | None,
    problems: list[Problem],
) -> tuple[list[Area], list[Package]]:
    """Build areas and packages; role and form references are checked where those files loaded."""
    areas: list[Area] = []
    packages: list[Package] = []
    area_codes: set[str] = set()
    # Requests name packages case-insensitively, so URNs and aliases must differ by more than
    # case, and an alias must never name another package.
    package_urns: set[str] = set()
    for name, document in documents.items():
        if document is None:
            continue
        area = Area(**document["area"])
        if area.code in area_codes:
            problems.append(Problem(name, "area.code", f"duplicate area {area.code}"))
        area_codes.add(area.code)
        areas.append(area)
        for p_index, entry in enumerate(document["packages"]):
            path = f"packages[{p_index}]"
            urn = entry["urn"]
            for field_path, name_used in [(f"{path}.urn", urn)] + [
                (f"{path}.aliases[{a_index}]", alias)
                for a_index, alias in enumerate(entry["aliases"])
            ]:
                if ascii_lower(name_used) in package_urns:
                    problems.append(Problem(name, field_path, f"duplicate package URN {name_used}"))
                package_urns.add(ascii_lower(name_used))
            grants = _build_grants(name, path, urn, entry["grants"], roles, org_forms, problems)
            packages.append(
                Package(
                    urn=urn,
                    name=entry["name"],
                    description=entry["description"],
                    area=area.code,
                    grants=tuple(grants),
                    aliases=tuple(entry["aliases"]),
                )
            )
    return areas, packages


def _build_grants(
    file_name: str,
    package_path: str,
    package_urn: str,
    entries: list[dict],
    roles: dict[str, Role] | None,
    org_forms: dict[str, OrgForm] | None,
    problems: list[Problem],
) -> list[Grant]:
    grants: list[Grant] = []
    granted_roles: set[str] = set()
    for g_index, entry in enumerate(entries):
        path = f"{package_path}.grants[{g_index}]"
        limits = tuple(entry.get("org_forms", ()))
        for f_index, form in enumerate(limits):
            form_path = f"{path}.org_forms[{f_index}]"
            if org_forms is not None and form not in org_forms:
                problems.append(Problem(file_name, form_path, f"unknown org form {form!r}"))
            elif form in limits[:f_index]:
                problems.append(Problem(file_name, form_path, f"duplicate org form {form}"))
        for r_index, code in enumerate(entry["roles"]):
            role_path = f"{path}.roles[{r_index}]"
            if roles is not None and code not in roles:
                problems.append(Problem(file_name, role_path, f"unknown role code {code!r}"))
                continue
            if code in granted_roles:
                problems.append(
                    Problem(file_name, role_path, f"duplicate grant of this package to {code}")
                )
                continue
            granted_roles.add(code)
            grants.append(Grant(code, package_urn, entry["delegable"], limits))
    return grants


def _build_resources(
    source: Mapping[str, Any],
    names: list[str],
    roles: dict[str, Role] | None,
    packages: list[Package] | None,
    problems: list[Problem],
    warnings: list[Problem],
) -> list[ResourcePolicy]:
    """Read each resource policy and check what it names against the roles and packages
    (`packages` None: not checked). Unknown roles are warnings, so roles need not have loaded.
    """
    package_names = _package_names(tuple(packages or ()))
    role_claims = {
        (attribute_id, value.casefold())
        for role in (roles or {}).values()
        for attribute_id, value in (
            (ROLECODE_ID, role.rolecode_value),
            (CCR_ROLE_ID, role.ccr_value),
        )
    }
    policies: list[ResourcePolicy] = []
    for name in names:
        resource_id = resource_policies.resource_id_of(name)
        text = source[name]
        if resource_id is None:
            problems.append(Problem(name, "", _RESOURCE_FILE_PROBLEM))
            continue
        if not isinstance(text, str):
            problems.append(Problem(name, "", "must be the policy's XML text"))
            continue
        policy = resource_policies.parse(name, resource_id, text, problems)
        if policy is None:
            continue
        errors, cautions = resource_policies.check(
            policy,
            lambda value: packages is None or _package_key(value) in package_names,
            lambda attribute_id, value: (attribute_id, value.casefold()) in role_claims,
        )
        problems += errors
        warnings += cautions
        policies.append(policy)
    return policies
