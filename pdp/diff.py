"""What a new policy source changes in the rules, against the source in force.

Pure: two Catalogs in, a SourceDiff out. A package the new source lists under a former URN
(an alias) is matched to its new URN, so a rename shows as one rename, not as every grant of
the package removed and added again.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdp.catalog import Catalog
from pdp.vocabulary import ACCESS, DELEGATE


@dataclass(frozen=True, order=True)
class GrantRule:
    """One thing a grant allows: holders of `role` may do `action` with `package`, at
    organisations of `org_forms` (empty: any form)."""

    package: str
    role: str
    action: str
    org_forms: tuple[str, ...]


@dataclass(frozen=True, order=True)
class Rename:
    former: str
    current: str


@dataclass(frozen=True)
class SourceDiff:
    packages_added: tuple[str, ...]
    packages_removed: tuple[str, ...]
    packages_renamed: tuple[Rename, ...]
    grants_added: tuple[GrantRule, ...]
    grants_removed: tuple[GrantRule, ...]

    @property
    def unchanged(self) -> bool:
        return not (
            self.packages_added
            or self.packages_removed
            or self.packages_renamed
            or self.grants_added
            or self.grants_removed
        )


def grant_rules(catalog: Catalog) -> set[GrantRule]:
    """Every (package, role, action, org-form limit) the catalog's grants allow."""
    return {
        GrantRule(grant.package, grant.role, action, tuple(sorted(grant.org_forms)))
        for grant in catalog.grants
        for action in ((ACCESS, DELEGATE) if grant.delegable else (ACCESS,))
    }


def diff(old: Catalog | None, new: Catalog) -> SourceDiff:
    """The packages and grant rules `new` adds, removes and renames against `old` (None: an
    empty repository, so everything is added)."""
    old_urns = {package.urn for package in old.packages} if old else set()
    new_urns = {package.urn for package in new.packages}
    current = {
        name.casefold(): package.urn
        for package in new.packages
        for name in (package.urn, *package.aliases)
    }
    renamed = {
        urn: current[urn.casefold()]
        for urn in old_urns - new_urns
        if urn.casefold() in current and current[urn.casefold()] not in old_urns
    }
    before = {
        GrantRule(renamed.get(rule.package, rule.package), rule.role, rule.action, rule.org_forms)
        for rule in (grant_rules(old) if old else set())
    }
    after = grant_rules(new)
    return SourceDiff(
        packages_added=tuple(sorted(new_urns - old_urns - set(renamed.values()))),
        packages_removed=tuple(sorted(old_urns - new_urns - set(renamed))),
        packages_renamed=tuple(sorted(Rename(f, c) for f, c in renamed.items())),
        grants_added=tuple(sorted(after - before)),
        grants_removed=tuple(sorted(before - after)),
    )
