"""A small policy enforcement point (PEP): ask the PDP before letting someone act.

    python examples/pep_client.py 02056260016 910459880 maskinlesbarehendelser
    python examples/pep_client.py 02056260016 910459880 programmeringsgrensesnitt --action delegate

It uses only the standard library, and it fails closed: anything but a Permit from the PDP
(a NotApplicable, an Indeterminate, an error, a time-out) means no.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request

DEFAULT_PDP_URL = "http://127.0.0.1:8000"


def decide(
    person: str,
    organization: str,
    package: str,
    action: str = "access",
    pdp_url: str = DEFAULT_PDP_URL,
    timeout: float = 2.0,
) -> dict:
    """The PDP's XACML result for one question (raises on transport errors)."""
    body = {
        "Request": {
            "AccessSubject": [
                {"Attribute": [{"AttributeId": "urn:altinn:person:identifier-no", "Value": person}]}
            ],
            "Action": [
                {
                    "Attribute": [
                        {
                            "AttributeId": "urn:oasis:names:tc:xacml:1.0:action:action-id",
                            "Value": action,
                        }
                    ]
                }
            ],
            "Resource": [
                {
                    "Attribute": [
                        {"AttributeId": "urn:altinn:accesspackage", "Value": package},
                        {
                            "AttributeId": "urn:altinn:organization:identifier-no",
                            "Value": organization,
                        },
                    ]
                }
            ],
            "ReturnPolicyIdList": True,
        }
    }
    request = urllib.request.Request(
        f"{pdp_url.rstrip('/')}/authorization/api/v1/authorize",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)["Response"][0]


def is_permitted(person: str, organization: str, package: str, **kwargs) -> bool:
    """True only when the PDP answers Permit; every failure is a no."""
    try:
        return decide(person, organization, package, **kwargs).get("Decision") == "Permit"
    except (OSError, ValueError, KeyError, IndexError, urllib.error.URLError):
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("person", help="national identity number of the user")
    parser.add_argument("organization", help="organisation number of the party acted for")
    parser.add_argument("package", help="access package URN or code")
    parser.add_argument("--action", default="access", choices=["access", "delegate"])
    parser.add_argument("--pdp-url", default=DEFAULT_PDP_URL)
    args = parser.parse_args()
    try:
        result = decide(args.person, args.organization, args.package, args.action, args.pdp_url)
    except (OSError, ValueError, KeyError, IndexError) as error:
        print(f"deny: the PDP could not be asked ({error})")
        return 1
    decision = result.get("Decision")
    reason = result.get("Status", {}).get("StatusMessage", "")
    print(f"{'allow' if decision == 'Permit' else 'deny'}: {decision} {reason}".rstrip())
    return 0 if decision == "Permit" else 1


if __name__ == "__main__":
    sys.exit(main())
