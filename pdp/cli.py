"""The `pdp` command line: the same operations the API offers, for operators and policy authors.

Every command reads its configuration from `PDP_*` environment variables (see `pdp.config`).
Errors are printed as `error: ...` lines and exit with status 1.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

import click

from pdp import catalog, compiler, grants_table, policy_tests, xacml
from pdp.api.explain import requests_of
from pdp.api.parties import SUBJECT_TYPES
from pdp.config import Settings
from pdp.delegations import Delegation
from pdp.diff import SourceDiff
from pdp.engine.request import stating_roles
from pdp.errors import PdpError, RegisterImportError, SourceError
from pdp.identifiers import validate_organization_number
from pdp.impact import GAINED
from pdp.repository import PublishResult
from pdp.service import Pdp, Preview
from pdp.subjects import ORGANIZATION, PERSON, SYSTEM_USER, subject
from pdp.vocabulary import ORGANIZATION_ID, PERSON_ID, SYSTEM_USER_UUID_ID
from pdp.xacml.items import identifier_named


class _PdpGroup(click.Group):
    """Turns the package's own errors into `error:` lines and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (SourceError, RegisterImportError) as error:
            for problem in error.problems:
                click.echo(f"error: {problem}", err=True)
            ctx.exit(1)
        except (PdpError, ValueError, OSError) as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(1)


def _pdp() -> Pdp:
    return Pdp.from_settings(Settings.from_env())


@click.group(cls=_PdpGroup)
def main() -> None:
    """A policy decision point for Altinn access packages."""


@main.command()
@click.option(
    "--policies",
    "policy_dir",
    type=click.Path(file_okay=False),
    help="Policy source directory [default: PDP_POLICY_DIR or ./policies]",
)
def init(policy_dir: str | None) -> None:
    """Create the database, then compile and publish the policy source."""
    pdp = _pdp()
    source = catalog.load(policy_dir or pdp.settings.policy_dir)
    _report_warnings(source)
    _report_publish(pdp.publish(source, message="pdp init", author=getpass.getuser()))


@main.command("compile")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--check", is_flag=True, help="Validate and compile only; publish nothing.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Also write the compiled py-abac policies as JSON to this file (- for stdout).",
)
@click.option("--message", default="", help="Why this version is published.")
@click.option("--author", default=getpass.getuser, help="Who publishes [default: login name].")
@click.option(
    "--base",
    type=int,
    default=None,
    help="Refuse unless this version is still the active one (0: none yet).",
)
def compile_command(
    directory: str | None,
    check: bool,
    output: str | None,
    message: str,
    author: str,
    base: int | None,
) -> None:
    """Validate and compile a policy source, then publish it as a new version."""
    settings = Settings.from_env()
    source = catalog.load(directory or settings.policy_dir)
    _report_warnings(source)
    if output or check:
        documents = compiler.compile_catalog(source)
        if output:
            with click.open_file(output, "wb") as stream:
                stream.write(compiler.policies_json(documents))
        if check:
            resources = f"{len(source.resources)} resources, " if source.resources else ""
            click.echo(
                f"ok: {len(source.packages)} packages, {len(source.grants)} grants, "
                f"{resources}{len(documents)} policies",
                err=bool(output == "-"),
            )
            return
    pdp = Pdp.from_settings(settings)
    _report_publish(pdp.publish(source, message=message, author=author, expected_active=base))


def _report_warnings(source: catalog.Catalog) -> None:
    """What the source's author should look at, though it was accepted (on stderr)."""
    for warning in source.warnings:
        click.echo(f"warning: {warning}", err=True)


def _report_publish(result: PublishResult) -> None:
    if result.created:
        click.echo(f"published policy-set version {result.version} ({result.policies} policies)")
    else:
        click.echo(f"policy-set version {result.version} is already active with this content")


@main.command("test")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("-v", "--verbose", is_flag=True, help="Also list the cases that pass.")
def test_command(directory: str | None, verbose: bool) -> None:
    """Run the policy tests in DIRECTORY/tests/*.yaml against the source in DIRECTORY."""
    directory = directory or Settings.from_env().policy_dir
    outcomes = policy_tests.run(directory)
    failed = [outcome for outcome in outcomes if not outcome.passed]
    for outcome in outcomes:
        if not outcome.passed:
            click.echo(outcome.report())
        elif verbose:
            click.echo(f"ok   {outcome.case.file}: {outcome.case.name}")
    click.echo(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed ({directory})")
    if failed:
        raise SystemExit(1)


@main.command("diff")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many individual access changes to list (the counts cover all).",
)
def diff_command(directory: str | None, limit: int) -> None:
    """Preview publishing DIRECTORY: rule changes against the active version, and who in the
    register gains or loses which package for which party. Publishes nothing."""
    pdp = _pdp()
    proposed = catalog.load(directory or pdp.settings.policy_dir)
    _report_warnings(proposed)
    for line in preview_lines(pdp.preview(proposed), limit):
        click.echo(line)


def preview_lines(preview: Preview, limit: int) -> list[str]:
    """A preview as text: the rule diff, then the impact with counts and the first changes."""
    source, impact = preview.source, preview.impact
    base = (
        "nothing published yet"
        if preview.base_version is None
        else (f"active version {preview.base_version}")
    )
    lines = [f"against {base}"]
    if preview.unchanged:
        lines.append("identical to the active version: publishing it would change nothing")
    elif source.unchanged:
        lines.append("the rules are unchanged: only names, descriptions or other text differ")
    lines.append(
        f"packages: {len(source.packages_added)} added, {len(source.packages_removed)} removed, "
        f"{len(source.packages_renamed)} renamed"
    )
    lines += [f"  + {urn}" for urn in source.packages_added]
    lines += [f"  - {urn}" for urn in source.packages_removed]
    lines += [f"  ~ {rename.former} -> {rename.current}" for rename in source.packages_renamed]
    lines.append(f"grants: {len(source.grants_added)} added, {len(source.grants_removed)} removed")
    for sign, rules in (("+", source.grants_added), ("-", source.grants_removed)):
        for rule in rules:
            limit_text = f" (only {', '.join(rule.org_forms)})" if rule.org_forms else ""
            lines.append(f"  {sign} {rule.role} may {rule.action} {rule.package}{limit_text}")
    if not source.resources_unchanged:
        lines += _resource_lines(source)
    lines.append(
        f"impact: {impact.gained} gained, {impact.lost} lost, "
        f"{impact.subjects} subjects, {impact.parties} parties"
    )
    for package, counts in impact.by_package().items():
        lines.append(f"  {package}: +{counts['gained']} -{counts['lost']}")
    for change in impact.changes[:limit]:
        sign = "+" if change.change == GAINED else "-"
        lines.append(
            f"  {sign} {change.subject_urn} may {change.action} {change.package} for {change.party}"
        )
    if len(impact.changes) > limit:
        lines.append(f"  ... {len(impact.changes) - limit} more (--limit to list them)")
    return lines


def _resource_lines(source: SourceDiff) -> list[str]:
    """The resource policies' part of a diff: resources, then the rules they compile to."""
    lines = [
        f"resources: {len(source.resources_added)} added, {len(source.resources_removed)} "
        f"removed, {len(source.resources_changed)} changed"
    ]
    lines += [f"  + {resource}" for resource in source.resources_added]
    lines += [f"  - {resource}" for resource in source.resources_removed]
    lines += [
        f"  ~ {resource} (combining, rule order, effects, obligations or advice)"
        for resource in source.resources_changed
    ]
    lines.append(
        f"resource rules: {len(source.resource_rules_added)} added, "
        f"{len(source.resource_rules_removed)} removed"
    )
    lines += [f"  + {rule}" for rule in source.resource_rules_added]
    lines += [f"  - {rule}" for rule in source.resource_rules_removed]
    return lines


@main.command()
@click.argument("number", type=int)
@click.option(
    "--base",
    type=int,
    default=None,
    help="Refuse unless this version is still the active one (optimistic concurrency).",
)
def rollback(number: int, base: int | None) -> None:
    """Make published version NUMBER the active one again, exactly as it was published."""
    active = _pdp().activate(number, expected_active=base)
    click.echo(f"policy-set version {active} is active")


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def grants(directory: str | None) -> None:
    """Print the role x package table of a policy source as Markdown (the README's table)."""
    click.echo(
        grants_table.markdown(catalog.load(directory or Settings.from_env().policy_dir)), nl=False
    )


@main.command()
def versions() -> None:
    """List the published policy-set versions; `*` marks the active one."""
    history = _pdp().versions()
    for version in history.versions:
        marker = "*" if version.number == history.active else " "
        click.echo(
            f"{marker} {version.number:>4}  {version.created_at:%Y-%m-%d %H:%M:%S}  "
            f"{version.content_hash[:12]}  {version.author or '-'}  {version.message}"
        )


@main.group()
def register() -> None:
    """The register of organisations and ER role holders."""


@register.command("import")
@click.argument("file", type=click.File("rb"))
def register_import(file: Any) -> None:
    """Import organisations with their ER roles, persons and system users from a JSON FILE
    (all or nothing)."""
    try:
        document = json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PdpError(f"{file.name} is not valid JSON: {error}") from None
    summary = _pdp().import_register(document)
    click.echo(
        f"imported {summary.organizations} organisations, "
        f"{summary.role_assignments} role assignments, {summary.persons} persons and "
        f"{summary.system_users} system users"
    )


@main.group()
def delegations() -> None:
    """Delegations of access packages: add, list, revoke."""


def _print_delegation(delegation: Delegation) -> None:
    recipient = f"{delegation.recipient.kind} {delegation.recipient.identifier}"
    line = (
        f"{delegation.id}  party {delegation.party}  {delegation.package}  "
        f"from {delegation.delegator} to {recipient}  "
        f"created {delegation.created_at:%Y-%m-%d %H:%M:%S}"
    )
    if delegation.revoked_at is not None:
        line += f"  revoked {delegation.revoked_at:%Y-%m-%d %H:%M:%S} by {delegation.revoked_by}"
    click.echo(line)


#: The recipient options of `delegations add`, by the kind of recipient each names.
_RECIPIENT_OPTIONS = {
    PERSON: "--to-person",
    ORGANIZATION: "--to-organization",
    SYSTEM_USER: "--to-system-user",
}


def _recipient_option(kind: str, what: str) -> Any:
    return click.option(
        _RECIPIENT_OPTIONS[kind], f"to_{kind}", help=f"the recipient {what}", default=None
    )


@delegations.command("add")
@click.option("--party", required=True, help="organisation number the package is held for")
@click.option("--package", required=True, help="access package URN or code")
@click.option("--delegator", required=True, help="national identity number of the delegator")
@_recipient_option(PERSON, "person's national identity number")
@_recipient_option(ORGANIZATION, "organisation's number")
@_recipient_option(SYSTEM_USER, "system user's UUID (one PARTY owns)")
def delegations_add(
    party: str,
    package: str,
    delegator: str,
    to_person: str | None,
    to_organization: str | None,
    to_system_user: str | None,
) -> None:
    """Delegate PACKAGE for PARTY to a person, an organisation or a system user PARTY owns, if
    the PDP permits it."""
    given = {
        kind: value
        for kind, value in (
            (PERSON, to_person),
            (ORGANIZATION, to_organization),
            (SYSTEM_USER, to_system_user),
        )
        if value is not None
    }
    if len(given) != 1:
        *others, last = _RECIPIENT_OPTIONS.values()
        raise click.UsageError(f"give exactly one of {', '.join(others)} or {last}")
    [(kind, identifier)] = given.items()
    recipient = subject(kind, identifier)
    party = validate_organization_number(party)
    _print_delegation(_pdp().delegate(party, package, subject(PERSON, delegator), recipient))


@delegations.command("list")
@click.option("--party", help="only delegations for this organisation number")
@click.option("--package", help="only delegations of this package (URN or code)")
@click.option("--include-revoked", is_flag=True, help="also list revoked delegations")
def delegations_list(party: str | None, package: str | None, include_revoked: bool) -> None:
    """List delegations, oldest first."""
    page = _pdp().find_delegations(
        party=party,
        package=package or None,
        include_revoked=include_revoked,
        limit=1_000_000,
    )
    for delegation in page.items:
        _print_delegation(delegation)


@delegations.command("revoke")
@click.argument("delegation_id")
@click.option("--by", "actor", required=True, help="national identity number of the revoker")
def delegations_revoke(delegation_id: str, actor: str) -> None:
    """Revoke a delegation; it stays in the history."""
    _print_delegation(_pdp().revoke(delegation_id, subject(PERSON, actor)))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the development server (use gunicorn in production; see README)."""
    from pdp.api import create_app

    create_app(Settings.from_env()).run(host=host, port=port)


@main.command()
@click.argument("file", type=click.File("rb"), default="-")
def check(file: Any) -> None:
    """Decide an XACML JSON request from FILE (or stdin) without a server; print the response.
    The roles a request states are honoured: whoever runs this is the PDP's operator."""
    try:
        body = json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PdpError(f"{getattr(file, 'name', 'input')} is not valid JSON: {error}") from None
    parsed = xacml.parse(body)
    results = _pdp().decide([stating_roles(item.request, None) for item in parsed.items])
    json.dump(xacml.render(parsed, results), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


@main.command()
@click.argument("identifier")
@click.option(
    "--type",
    "kind",
    type=click.Choice(SUBJECT_TYPES),
    help="what IDENTIFIER is [default: by its form: 11 digits a person, 9 an organisation, "
    "a UUID a system user]",
)
@click.option("--packages/--no-packages", default=True, help="list access packages [default: yes]")
@click.option("--resources/--no-resources", default=True, help="list resources [default: yes]")
def parties(identifier: str, kind: str | None, packages: bool, resources: bool) -> None:
    """The parties IDENTIFIER may act for, as Altinn's authorizedparties answers (JSON)."""
    service = _pdp()
    if kind is None:
        kind = {11: PERSON_ID, 9: ORGANIZATION_ID}.get(len(identifier), SYSTEM_USER_UUID_ID)
    who = identifier_named(f"{kind}:{identifier}", rules=service.identifier_rules)
    found = service.authorized_parties(who, resources=resources)
    _print_json(
        [access.altinn(roles=True, packages=packages, resources=resources) for access in found]
    )


@main.command()
@click.argument("organization")
@click.option("--package", help="access package URN or code")
@click.option("--resource", help="service resource id")
@click.option(
    "--action",
    help="`access` (default) or `delegate` for a package; for a resource one of its actions",
)
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0))
def holders(
    organization: str,
    package: str | None,
    resource: str | None,
    action: str | None,
    limit: int,
    offset: int,
) -> None:
    """Who holds PACKAGE (or may perform ACTION on RESOURCE) for ORGANIZATION, and how (JSON)."""
    if (package is None) == (resource is None):
        raise click.UsageError("give exactly one of --package or --resource")
    if resource is not None and action is None:
        raise click.UsageError("--resource needs --action")
    page = _pdp().holders(
        validate_organization_number(organization),
        package=package,
        resource=resource,
        action=action or "access",
        limit=limit,
        offset=offset,
    )
    _print_json({"total": page.total, "holders": [holder.data() for holder in page.items]})


@main.command()
@click.argument("file", type=click.File("rb"), default="-")
def explain(file: Any) -> None:
    """Decide a request from FILE (or stdin), XACML JSON or py-abac's shape, and print why."""
    body = _json_of(file)
    service = _pdp()
    _, requests = requests_of(body, service.identifier_rules)
    for request in requests:
        explanation = service.explain(request)
        for step in explanation.steps:
            click.echo(f"- {step.sentence}")


def _json_of(file: Any) -> Any:
    try:
        return json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PdpError(f"{getattr(file, 'name', 'input')} is not valid JSON: {error}") from None


def _print_json(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":  # pragma: no cover
    main()
