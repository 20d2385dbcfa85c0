"""The `pdp` command line: the same operations the API offers, for operators and policy authors.

Every command reads its configuration from `PDP_*` environment variables (see `pdp.config`).
Errors are printed as `error: ...` lines and exit with status 1.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from pdp import catalog, compiler, xacml
from pdp.config import Settings
from pdp.errors import PdpError, RegisterImportError, SourceError
from pdp.service import Pdp


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
    _report_publish(pdp.publish(source, message="pdp init"), len(compiler.compile_catalog(source)))


@main.command("compile")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--check", is_flag=True, help="Validate and compile only; publish nothing.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Also write the compiled py-abac policies as JSON to this file (- for stdout).",
)
@click.option("--message", default="", help="Why this version is published.")
def compile_command(directory: str | None, check: bool, output: str | None, message: str) -> None:
    """Validate and compile a policy source, then publish it as a new version."""
    settings = Settings.from_env()
    source = catalog.load(directory or settings.policy_dir)
    documents = compiler.compile_catalog(source)
    if output:
        with click.open_file(output, "wb") as stream:
            stream.write(compiler.render(documents))
    if check:
        click.echo(
            f"ok: {len(source.packages)} packages, {len(source.grants)} grants, "
            f"{len(documents)} policies",
            err=bool(output == "-"),
        )
        return
    _report_publish(Pdp.from_settings(settings).publish(source, message=message), len(documents))


def _report_publish(result: Any, policy_count: int) -> None:
    if result.created:
        click.echo(f"published policy-set version {result.version} ({policy_count} policies)")
    else:
        click.echo(f"policy-set version {result.version} is already active with this content")


@main.command()
def versions() -> None:
    """List the published policy-set versions; `*` marks the active one."""
    pdp = _pdp()
    active = pdp.repository.active_version()
    for version in pdp.repository.versions():
        marker = "*" if version.number == active else " "
        click.echo(
            f"{marker} {version.number:>4}  {version.created_at:%Y-%m-%d %H:%M:%S}  "
            f"{version.content_hash[:12]}  {version.message}"
        )


@main.group()
def register() -> None:
    """The register of organisations and ER role holders."""


@register.command("import")
@click.argument("file", type=click.File("rb"))
def register_import(file: Any) -> None:
    """Import organisations and their ER roles from a JSON FILE (all or nothing)."""
    try:
        document = json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PdpError(f"{file.name} is not valid JSON: {error}") from None
    pdp = _pdp()
    summary = pdp.register.import_document(document, pdp.policy_sets.current().catalog)
    click.echo(
        f"imported {summary.organizations} organisations and "
        f"{summary.role_assignments} role assignments"
    )


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
    """Decide an XACML JSON request from FILE (or stdin) without a server; print the response."""
    try:
        body = json.load(file)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PdpError(f"{getattr(file, 'name', 'input')} is not valid JSON: {error}") from None
    parsed = xacml.parse(body)
    results = _pdp().engine.decide_all([item.request for item in parsed.items])
    json.dump(xacml.render(parsed, results), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":  # pragma: no cover
    main()
