"""Who is calling: bearer JWTs checked against the token issuer's public keys.

A caller proves itself with a signed JWT (RS256 or ES256, as Maskinporten and ID-porten issue
them). The signature is checked against a JSON Web Key Set, from a file or a URL; `iss`, `aud`,
`exp` must be present and right, and `nbf` when present. What the caller may do comes from the
token's scopes (`scope`, space-separated, or `scp`); who the caller is, for delegations and the
audit log, from `sub`, `client_id` and the person claim `pid`.

Checking a signature costs tens of microseconds, more than a cached decision, so each verified
token is remembered until it expires, with the key that verified it: a PEP sends the same token
many times. A remembered token is taken again only while the key set still gives that key for
it, so a token whose key was taken out of the key set (key rotation) is forgotten and refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pdp.bounded import BoundedMap
from pdp.config import Settings
from pdp.errors import PdpError
from pdp.identifiers import InvalidIdentifier, validate_national_identity_number

#: Deciding: the scope Altinn's own PDP requires of its callers.
SCOPE_AUTHORIZE = "altinn:authorization/authorize"
#: Creating, listing and revoking delegations.
SCOPE_DELEGATIONS = "pdp:delegations"
#: Publishing and activating policy sets, importing the register.
SCOPE_ADMIN = "pdp:admin"
#: Asking for whom a subject may act, as Altinn's resource owners' API names it (or SCOPE_ADMIN).
SCOPE_AUTHORIZED_PARTIES = "altinn:accessmanagement/authorizedparties.resourceowner"
#: The scopes that open endpoints: a caller needs one of them to call any but `/health`.
ENDPOINT_SCOPES = (SCOPE_AUTHORIZE, SCOPE_DELEGATIONS, SCOPE_ADMIN, SCOPE_AUTHORIZED_PARTIES)
#: Stating the subject's roles in a decision request (`urn:altinn:rolecode`,
#: `urn:altinn:external-role:ccr`, `roles`) instead of the register's: a PEP that may do this
#: can make any person hold any role, so it is a right of its own (and `PDP_STATED_ROLES=false`
#: takes it from everyone).
SCOPE_STATED_ROLES = "pdp:stated-roles"
#: Delegating and revoking in the name of a person the token does not name (no `pid`): the
#: right of a trusted back office, not of every caller with `pdp:delegations`.
SCOPE_DELEGATIONS_ON_BEHALF = "pdp:delegations.on-behalf"
ALL_SCOPES = (*ENDPOINT_SCOPES, SCOPE_STATED_ROLES, SCOPE_DELEGATIONS_ON_BEHALF)

#: The claim that names the person behind a token (ID-porten's national identity number).
PERSON_CLAIM = "pid"

#: The signature algorithms accepted, and the key type each needs. Symmetric algorithms and
#: `none` are refused, so a public key can never be misused as an HMAC secret.
_KEY_TYPES: dict[str, type] = {"RS256": rsa.RSAPublicKey, "ES256": ec.EllipticCurvePublicKey}
_TOKEN_CACHE_SIZE = 10_000


class ConfigurationError(PdpError):
    """The PDP was configured so that it cannot start safely."""


class AuthenticationFailed(PdpError):
    """No usable token (401). `error` is `invalid_token` when one was given but refused."""

    def __init__(self, description: str, error: str | None = "invalid_token"):
        self.description = description
        self.error = error
        super().__init__(description)


class InsufficientScope(PdpError):
    """A valid token without any of the scopes the operation needs (403)."""

    def __init__(self, required: Iterable[str]):
        self.required = tuple(required)
        super().__init__(f"the token needs the scope {' or '.join(self.required)}")


@dataclass(frozen=True)
class Caller:
    """Who made a request, as far as its token says."""

    scopes: frozenset[str]
    #: The token's `sub`; None when authentication is off.
    subject: str | None = None
    #: The client the token was issued to (`client_id`, else `azp`).
    client_id: str | None = None
    #: The person behind the token (`pid`), a checked national identity number.
    person: str | None = None
    #: False only when authentication is switched off for development.
    authenticated: bool = True

    def require(self, scopes: Iterable[str]) -> None:
        """InsufficientScope unless the caller holds at least one of `scopes`."""
        wanted = tuple(scopes)
        if not self.scopes.intersection(wanted):
            raise InsufficientScope(wanted)


#: A verified token as remembered: its Caller, `nbf` and `exp`, key id and key.
_Verified = tuple[Caller, float, float, str | None, Any]

#: The caller of every request when authentication is switched off: it may do anything.
UNAUTHENTICATED = Caller(scopes=frozenset(ALL_SCOPES), authenticated=False)


class TokenVerifier:
    """Checks bearer tokens against one issuer's keys and turns them into Callers."""

    def __init__(
        self,
        keys: _KeySource,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: float = 30,
        clock: Any = time.time,
    ):
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway_seconds
        self._clock = clock
        #: Verified tokens: the Caller, when the token starts and stops being valid, and the
        #: key id it named with the key that verified it.
        self._verified: BoundedMap[str, _Verified] = BoundedMap(_TOKEN_CACHE_SIZE)

    def verify(self, token: str) -> Caller:
        """The Caller a token stands for; AuthenticationFailed saying why it is refused."""
        now = self._clock()
        remembered = self._verified.get(token)
        if remembered is not None:
            caller, not_before, expires, key_id, key = remembered
            if not self._still_has(key_id, key):
                self._verified.forget(token)
                # Verified afresh below: refused if its key is gone, kept if the key set only
                # gave the same key anew (a JWKS URL fetched again).
            elif not_before - self._leeway <= now < expires + self._leeway:
                return caller
            elif now >= expires + self._leeway:
                raise AuthenticationFailed("the token has expired")
            else:
                raise AuthenticationFailed("the token is not valid yet")
        claims, key_id, key = self._decode(token, now)
        caller = _caller(claims)
        self._verified.keep(token, (caller, claims.get("nbf", 0), claims["exp"], key_id, key))
        return caller

    def _still_has(self, key_id: str | None, key: Any) -> bool:
        """Whether the key set still gives `key` for `key_id` (a dictionary look-up for a
        JWKS file; for a JWKS URL, its cached key set, fetched again when it is stale)."""
        try:
            return self._keys.key_for(key_id) is key
        except AuthenticationFailed:
            return False

    def _decode(self, token: str, now: float) -> tuple[dict[str, Any], str | None, Any]:
        """The token's claims, checked, with the key id it names and the key that verified
        it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationFailed("the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if type(algorithm) is not str or algorithm not in _KEY_TYPES:
            raise AuthenticationFailed(
                f"the token's algorithm {_shown(algorithm)} is not accepted; use RS256 or ES256"
            )
        key_id = header.get("kid")
        if key_id is not None and type(key_id) is not str:
            raise AuthenticationFailed("the token's kid is not a string")
        key = self._keys.key_for(key_id)
        if not isinstance(key, _KEY_TYPES[algorithm]):
            raise AuthenticationFailed(f"the token's key does not fit algorithm {algorithm}")
        if algorithm == "ES256" and not isinstance(key.curve, ec.SECP256R1):
            raise AuthenticationFailed("ES256 needs a P-256 key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise AuthenticationFailed("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise AuthenticationFailed("the token is not meant for this PDP (aud)") from None
        except jwt.InvalidIssuerError:
            raise AuthenticationFailed("the token is from another issuer (iss)") from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthenticationFailed(f"the token has no {error.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise AuthenticationFailed("the token's signature does not verify") from None
        except jwt.PyJWTError as error:
            raise AuthenticationFailed(f"the token is invalid: {error}") from None
        for name in _TIME_CLAIMS:
            if name in claims:
                _check_time(name, claims[name])
        return claims, key_id, key


#: The claims that are times (JWT NumericDates), each checked by `_check_time` when present.
_TIME_CLAIMS = ("exp", "nbf", "iat")
#: The latest time a token may name: the last second of the year 9999 (UTC).
_LATEST_TIME = 253_402_300_799


def _check_time(name: str, value: Any) -> None:
    """AuthenticationFailed unless `value` is a time a token can mean: a number (not a
    boolean) of seconds since 1970 up to the year 9999. PyJWT reads such claims with `int()`,
    which lets text, booleans and numbers beyond the float range through."""
    if type(value) not in (int, float) or not 0 <= value <= _LATEST_TIME:
        raise AuthenticationFailed(
            f"the token's {name} is not a time (seconds since 1970, before the year 10000)"
        )


def _shown(value: Any) -> str:
    """`value` as a message may show it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _caller(claims: Mapping[str, Any]) -> Caller:
    """The Caller in verified claims; a malformed scope or person claim refuses the token."""
    person = claims.get(PERSON_CLAIM)
    if person is not None:
        try:
            person = validate_national_identity_number(person)
        except InvalidIdentifier as error:
            raise AuthenticationFailed(f"the token's {PERSON_CLAIM} claim: {error}") from None
    return Caller(
        scopes=_scopes(claims),
        subject=_text(claims.get("sub")),
        client_id=_text(claims.get("client_id") or claims.get("azp")),
        person=person,
    )


def _scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    raw = claims.get("scope", claims.get("scp", ""))
    if isinstance(raw, str):
        return frozenset(raw.split())
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return frozenset(raw)
    raise AuthenticationFailed("the token's scope claim is neither a string nor a list")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class _KeySource(Protocol):
    """Public keys by key id."""

    def key_for(self, key_id: str | None) -> Any: ...


class JwksFile(_KeySource):
    """Keys from a JWKS file, read once at start (restart the PDP to rotate)."""

    def __init__(self, path: str):
        try:
            document = Path(path).read_text(encoding="utf-8")
            key_set = jwt.PyJWKSet.from_json(document)
        except OSError as error:
            raise ConfigurationError(f"PDP_JWKS_FILE {path}: {error.strerror}") from None
        except (jwt.PyJWTError, ValueError) as error:
            raise ConfigurationError(
                f"PDP_JWKS_FILE {path} is not a usable JWKS: {error}"
            ) from None
        self._keys = {key.key_id: key.key for key in key_set.keys}

    def key_for(self, key_id: str | None) -> Any:
        if key_id is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if key_id is None:
            raise AuthenticationFailed("the token has no kid and the key set has several keys")
        try:
            return self._keys[key_id]
        except KeyError:
            raise AuthenticationFailed(f"no key {key_id!r} in the key set") from None


class JwksUrl(_KeySource):
    """Keys from a JWKS URL, cached for `lifespan_seconds` (5 minutes) and fetched again when a
    token names a key not seen yet (key rotation), at most once per `refresh_cooldown_seconds`,
    so tokens with made-up key ids cannot turn the PDP against the issuer.

    A key taken out of the set is gone once the set is fetched again: keys are not cached apart
    from the set. While the issuer cannot be reached, the last set fetched goes on serving (a
    key is known to be gone only from a set without it), so an outage does not lock every
    caller out once the set is stale."""

    def __init__(
        self, url: str, refresh_cooldown_seconds: float = 30, lifespan_seconds: float = 300
    ):
        if not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"PDP_JWKS_URL must be an http(s) URL, got {url!r}")
        self._client = jwt.PyJWKClient(
            url,
            # PyJWKClient's own cache of keys by id never expires: a removed key would stay.
            cache_keys=False,
            lifespan=lifespan_seconds,
            timeout=5,
            cooldown_duration=refresh_cooldown_seconds,
        )
        #: The signing keys of the last set fetched, for when the issuer cannot be reached.
        self._last_good: list[jwt.PyJWK] | None = None

    def key_for(self, key_id: str | None) -> Any:
        keys = self._signing_keys()
        if key_id is None:
            if len(keys) != 1:
                raise AuthenticationFailed("the token has no kid and the key set has several keys")
            return keys[0].key
        for key in keys:
            if key.key_id == key_id:
                return key.key
        try:  # a key not seen yet: the set is fetched again, unless it was just now
            return self._client.get_signing_key(key_id).key
        except jwt.PyJWKClientConnectionError:
            raise AuthenticationFailed("the token issuer's keys cannot be fetched now") from None
        except jwt.PyJWKClientError as error:
            raise AuthenticationFailed(f"no usable key for the token: {error}") from None

    def _signing_keys(self) -> list[jwt.PyJWK]:
        """The set's signing keys: as cached, fetched again when stale; the last set fetched
        while the issuer cannot be reached."""
        try:
            keys = self._client.get_signing_keys()
        except jwt.PyJWKClientConnectionError:
            if self._last_good is None:
                raise AuthenticationFailed(
                    "the token issuer's keys cannot be fetched now"
                ) from None
            return self._last_good
        except jwt.PyJWKClientError as error:
            raise AuthenticationFailed(f"no usable key for the token: {error}") from None
        self._last_good = keys
        return keys


def token_verifier(settings: Settings) -> TokenVerifier | None:
    """The verifier `settings` configure; None when authentication is switched off.

    Refuses to configure a PDP that would accept anyone by accident: without keys, the
    development setting must say so explicitly.
    """
    if settings.auth_disabled:
        if settings.jwks_file or settings.jwks_url:
            raise ConfigurationError(
                "PDP_AUTH_DISABLED=true together with keys is ambiguous; configure one of them"
            )
        return None
    if not (settings.jwks_file or settings.jwks_url):
        raise ConfigurationError(
            "no token keys configured: set PDP_JWKS_FILE or PDP_JWKS_URL (with PDP_JWT_ISSUER "
            "and PDP_JWT_AUDIENCE), or PDP_AUTH_DISABLED=true for development only"
        )
    if settings.jwks_file and settings.jwks_url:
        raise ConfigurationError("set PDP_JWKS_FILE or PDP_JWKS_URL, not both")
    missing = [
        name
        for name, value in (
            ("PDP_JWT_ISSUER", settings.jwt_issuer),
            ("PDP_JWT_AUDIENCE", settings.jwt_audience),
        )
        if not value
    ]
    if missing:
        raise ConfigurationError(f"{' and '.join(missing)} must be set to check tokens")
    keys = JwksFile(settings.jwks_file) if settings.jwks_file else JwksUrl(settings.jwks_url)
    return TokenVerifier(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
