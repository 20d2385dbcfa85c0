"""The words every stage of a decision shares: XACML categories and data types, Altinn's
attribute ids, the attribute paths compiled policies read, actions, decisions and statuses.

The context handler reads requests in these words, the compiler writes policies in them, the
PIP answers in them and the engine decides with them; none of those depends on another for its
vocabulary. Two kinds of name are kept apart on purpose: `*_ID` constants are XACML attribute
ids as they appear on the wire (URNs), `*_PATH` constants are the py-abac attribute paths
compiled policies read from a request's subject or resource attributes.
"""

from __future__ import annotations

import functools
import string
from typing import Any

# --- XACML categories and data types ---------------------------------------------------------

SUBJECT_CATEGORY = "urn:oasis:names:tc:xacml:1.0:subject-category:access-subject"
RESOURCE_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:resource"
ACTION_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:action"
ENVIRONMENT_CATEGORY = "urn:oasis:names:tc:xacml:3.0:attribute-category:environment"

#: The XACML JSON profile's shorthand category members of a request, and the category each is.
SHORTHAND_CATEGORIES = {
    "AccessSubject": SUBJECT_CATEGORY,
    "Resource": RESOURCE_CATEGORY,
    "Action": ACTION_CATEGORY,
    "Environment": ENVIRONMENT_CATEGORY,
}
#: Every member name of an XACML JSON profile request, canonically spelt (clients vary the case).
XACML_REQUEST_MEMBERS = (
    *("Request", "ReturnPolicyIdList", "CombinedDecision", "XPathVersion", "MultiRequests"),
    *("AccessSubject", "Action", "Resource", "Environment", "Category", "CategoryId", "Id"),
    *("Attribute", "AttributeId", "Value", "DataType", "IncludeInResult", "Issuer", "Content"),
    *("RequestReference", "ReferenceId"),
)

XML_STRING = "http://www.w3.org/2001/XMLSchema#string"
#: The spellings of the string data type that requests use.
STRING_TYPES = frozenset({XML_STRING, "xs:string", "string"})

# --- attribute ids on the wire (Altinn's XACML vocabulary) ----------------------------------

ACTION_ID = "urn:oasis:names:tc:xacml:1.0:action:action-id"
PERSON_ID = "urn:altinn:person:identifier-no"
ORGANIZATION_ID = "urn:altinn:organization:identifier-no"
PACKAGE_ID = "urn:altinn:accesspackage"

PACKAGE_URN_PREFIX = f"{PACKAGE_ID}:"
CCR_ROLE_URN_PREFIX = "urn:altinn:external-role:ccr:"
LEGACY_ROLE_URN_PREFIX = "urn:altinn:rolecode:"
#: The attribute ids under which a request may state ER roles: legacy codes (`dagl`) and
#: Altinn 3 CCR role names (`daglig-leder`).
ROLECODE_ID = LEGACY_ROLE_URN_PREFIX.rstrip(":")
CCR_ROLE_ID = CCR_ROLE_URN_PREFIX.rstrip(":")

# --- attributes compiled policies read (py-abac) ---------------------------------------------
# Each `*_KEY` is the attribute's key in a py-abac request's subject or resource attributes,
# each `*_PATH` the path a compiled policy reads it by.

#: Subject: the ER role codes the subject holds for the party (the PIP, or stated roles).
ROLES_KEY = "roles"
#: Subject: the package URNs delegated to the subject for the party (the PIP).
DELEGATED_PACKAGES_KEY = "delegated_packages"
#: Resource: the organisation number of the party acted for (the request).
PARTY_KEY = "party"
#: Resource: the party's organisation form (the PIP).
ORG_FORM_KEY = "org_form"

ROLES_PATH = f"$.{ROLES_KEY}"
DELEGATED_PACKAGES_PATH = f"$.{DELEGATED_PACKAGES_KEY}"
PARTY_PATH = f"$.{PARTY_KEY}"
ORG_FORM_PATH = f"$.{ORG_FORM_KEY}"


# --- actions ---------------------------------------------------------------------------------

ACCESS = "access"
DELEGATE = "delegate"
ACTIONS = (ACCESS, DELEGATE)

# --- decisions and statuses ------------------------------------------------------------------

PERMIT = "Permit"
DENY = "Deny"
NOT_APPLICABLE = "NotApplicable"
INDETERMINATE = "Indeterminate"
DECISIONS = (PERMIT, DENY, NOT_APPLICABLE, INDETERMINATE)

STATUS_OK = "urn:oasis:names:tc:xacml:1.0:status:ok"
STATUS_SYNTAX_ERROR = "urn:oasis:names:tc:xacml:1.0:status:syntax-error"
STATUS_PROCESSING_ERROR = "urn:oasis:names:tc:xacml:1.0:status:processing-error"
#: A rule needed an attribute (MustBePresent) that neither the request nor the PIP has.
STATUS_MISSING_ATTRIBUTE = "urn:oasis:names:tc:xacml:1.0:status:missing-attribute"
#: The minor status code, under processing-error, of a request that states the subject's roles
#: when its caller may not (`pdp.engine.request.DecisionRequest.roles_refused`).
STATUS_STATED_ROLES_REFUSED = "urn:pdp:status:stated-roles-refused"

# --- Altinn's identifiers of users, parties, system users and resources ----------------------
# PEPs name subjects and parties by these as well as by national identity and organisation
# numbers; the register (`pdp.register`) knows which person, organisation or system user each
# names.

#: A system user (a vendor's system registered by a customer organisation), by its UUID.
SYSTEM_USER_UUID_ID = "urn:altinn:systemuser:uuid"
#: An Altinn user id (a number), of a person with an Altinn profile.
USERID_ID = "urn:altinn:userid"
#: An Altinn party id (a number), of an organisation or a person.
PARTYID_ID = "urn:altinn:partyid"
#: An Altinn party UUID, of an organisation or a person.
PARTY_UUID_ID = "urn:altinn:party:uuid"
#: An Altinn person UUID.
PERSON_UUID_ID = "urn:altinn:person:uuid"
#: The legacy attribute id of an organisation number (same value as `ORGANIZATION_ID`).
LEGACY_ORGANIZATION_NUMBER_ID = "urn:altinn:organizationnumber"
#: A resource in Altinn's resource registry, by id.
RESOURCE_ID = "urn:altinn:resource"
#: A service owner's code (`ttd`, `skd`), naming an app's owner.
ORG_ID = "urn:altinn:org"
#: An Altinn app's name, with `ORG_ID` naming the app.
APP_ID = "urn:altinn:app"

#: Every attribute id the context handler reads out of a request, canonically spelt.
READ_ATTRIBUTE_IDS = (
    *(SYSTEM_USER_UUID_ID, PERSON_ID, USERID_ID, PERSON_UUID_ID, ORGANIZATION_ID),
    *(LEGACY_ORGANIZATION_NUMBER_ID, PARTY_UUID_ID, PARTYID_ID, ACTION_ID, RESOURCE_ID),
    *(ORG_ID, APP_ID, PACKAGE_ID, ROLECODE_ID, CCR_ROLE_ID),
)

# --- service resources and their XACML policies -----------------------------------------------

#: py-abac's access control element for each XACML category a resource policy may read.
ACE_BY_CATEGORY = {
    SUBJECT_CATEGORY: "subject",
    RESOURCE_CATEGORY: "resource",
    ACTION_CATEGORY: "action",
    ENVIRONMENT_CATEGORY: "context",
}

XML_ANY_URI = "http://www.w3.org/2001/XMLSchema#anyURI"
XML_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
XML_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"

RESOURCE_URN_PREFIX = f"{RESOURCE_ID}:"
#: Altinn names an app's resource `app_<org>_<app>`.
APP_RESOURCE_PREFIX = "app_"
#: The obligation Altinn's PEPs read: the authentication level a Permit requires.
MINIMUM_AUTHENTICATION_LEVEL = "urn:altinn:minimum-authenticationlevel"

_KEY_ESCAPES = {":": "__", "-": "_h", ".": "_d", "_": "_u"}


@functools.lru_cache(maxsize=4096)
def attribute_key(attribute_id: str) -> str:
    """The py-abac attribute key (read by `$.<key>`) holding the bag of a XACML attribute.

    objectpath reads `$.<key>` only for identifier characters, so the URN is spelled with
    letters, digits and `_`: `:` as `__`, `-` as `_h`, `.` as `_d`, `_` as `_u`, any other
    character as `_x<hex code>_` (`urn:altinn:rolecode` -> `urn__altinn__rolecode`). Every
    escape starts with `_` and its next character says which, so a key spells exactly one id
    (the mapping is injective), and every key starts with `urn__`, which no other `*_KEY` does.
    """
    if not attribute_id.startswith("urn:"):
        raise ValueError(f"attribute id must be a URN (urn:...), got {attribute_id!r}")
    return "".join(
        char if char.isascii() and char.isalnum() else _KEY_ESCAPES.get(char, f"_x{ord(char):x}_")
        for char in attribute_id
    )


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(text: str) -> str:
    """`text` with the ASCII letters A-Z lower-cased and every other character as it is: how
    every case-insensitive comparison of the PDP folds what it compares (member names, attribute
    ids, role codes, package names, actions, `string-equal-ignore-case` values).

    Unicode's lower-casing and case folding make other characters ASCII: U+017F (long s)
    folds to `s`, U+FB01 (the fi ligature) to `fi`, U+212A (the Kelvin sign) lowers to `k`; so
    `Acce\u017f\u017fSubject` would be read as `AccessSubject` and `\u212aOMP` as the role
    KOMP. Identifiers and names here are ASCII: anything else is a different, unknown name. (A
    text that is ASCII, nearly always, is lower-cased by `str.lower` at C speed.)"""
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def lowercase_attribute_key(attribute_id: str) -> str:
    """The key of the companion bag holding an attribute's values lower-cased, which
    `string-equal-ignore-case` matches read. `_l` is no escape of `attribute_key`, so a
    companion key never spells an attribute's own key."""
    return attribute_key(attribute_id) + "_l"


#: The bags of integer and boolean attributes are kept apart from the text ones (and from
#: each other: Python's `0 == False`) under these suffixes, which no escape above makes.
_TYPE_SUFFIXES = {XML_INTEGER: "_ti", XML_BOOLEAN: "_tb"}


def typed_attribute_key(attribute_id: str, data_type: str) -> str:
    """The key of an attribute's bag of values of `data_type`: `attribute_key` for text (string,
    anyURI), with a suffix for integers and booleans."""
    return attribute_key(attribute_id) + _TYPE_SUFFIXES.get(data_type, "")


#: The spellings of a data type requests use (`xs:integer`, `integer`, the URI), by last part.
_DATA_TYPES = {
    uri.rsplit("#", 1)[-1]: uri for uri in (XML_STRING, XML_ANY_URI, XML_INTEGER, XML_BOOLEAN)
}
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def typed_values(data_type: str | None, values: list[Any]) -> tuple[str, list[Any] | None]:
    """The data type a request's attribute has (named in full) and its values of that type, or
    None for the values when one is not of it. Without a DataType the JSON values say it, as
    the JSON profile does: all booleans, all integers, else strings. Integers and booleans may
    be written as their XML lexical forms (`"3"`, `"true"`); everything else must be text."""
    if data_type is None:
        if values and all(type(v) is bool for v in values):
            data_type = XML_BOOLEAN
        elif values and all(type(v) is int for v in values):
            data_type = XML_INTEGER
        else:
            data_type = XML_STRING
    data_type = _DATA_TYPES.get(data_type.rsplit("#", 1)[-1].rsplit(":", 1)[-1], data_type)
    if data_type == XML_INTEGER:
        typed = [_integer(v) for v in values]
    elif data_type == XML_BOOLEAN:
        typed = [
            v if type(v) is bool else _BOOLEANS.get(v) if type(v) is str else None for v in values
        ]
    else:
        typed = [v if type(v) is str else None for v in values]
    return data_type, None if None in typed else typed


def _boolean(value: Any) -> bool | None:
    if type(value) is bool:
        return value
    return _BOOLEANS.get(value) if type(value) is str else None


def _integer(value: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str and value.strip().lstrip("+-").isdigit() and value.isascii():
        return int(value)
    return None


def attribute_path(key: str) -> str:
    """The py-abac path a compiled policy reads an attribute key by."""
    return f"$.{key}"
