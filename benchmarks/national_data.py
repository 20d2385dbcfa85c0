"""A synthetic Norway, for the national-scale tests and benchmarks: never downloaded, made here.

Enhetsregisteret's open bulk downloads (`/enhetsregisteret/api/enheter/lastned` and
`/underenheter/lastned` on data.brreg.no, "totalbestand") are gzip'ed JSON arrays of entity
objects. The files written here have that shape, field for field as far as the importer and a
realistic file size care: `organisasjonsnummer`, `navn`, `organisasjonsform` (`kode`,
`beskrivelse`, `_links`), addresses, industry and sector codes, dates, flags, `_links`; sub-units
carry `overordnetEnhet` and `beliggenhetsadresse`; a deleted entity is what the API gives for
one (number, name, form, `slettedato`, `_links`). A small share of entities have a form that no
Altinn catalog knows (`UKJENT`, made up here), which the import reports and skips.

Role assignments come in the PDP's own register format (the open data names no persons): each
main unit that is neither deleted nor of the made-up form, with its roles, until `roles` role
assignments are written. Everything follows from `seed` and the sizes, and any entity's roles
can be worked out again from its index alone (`roles_of`), so a benchmark can ask about
role holders without reading the files back.

Organisation and national identity numbers have valid mod-11 check digits (`benchmarks.ids`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from benchmarks.ids import organization_numbers, person_numbers

UNKNOWN_FORM = "UKJENT"
_API = "https://data.brreg.no/enhetsregisteret/api"

#: (form, description, share of main units), shares adding up to 1.
_MAIN_FORMS = (
    ("ENK", "Enkeltpersonforetak", 0.395),
    ("AS", "Aksjeselskap", 0.33),
    ("FLI", "Forening/lag/innretning", 0.08),
    ("ESEK", "Eierseksjonssameie", 0.05),
    ("NUF", "Norskregistrert utenlandsk foretak", 0.03),
    ("DA", "Ansvarlig selskap med delt ansvar", 0.03),
    ("ANS", "Ansvarlig selskap med solidarisk ansvar", 0.02),
    ("SA", "Samvirkeforetak", 0.02),
    ("BRL", "Borettslag", 0.02),
    ("STI", "Stiftelse", 0.01),
    ("ORGL", "Organisasjonsledd", 0.005),
    ("KOMM", "Kommune", 0.0049),
    ("ASA", "Allmennaksjeselskap", 0.0049),
    (UNKNOWN_FORM, "Ukjent (syntetisk)", 0.0002),
)
_SUB_FORMS = (
    ("BEDR", "Underenhet til næringsdrivende og offentlig forvaltning", 0.9),
    ("AAFY", "Underenhet til ikke-næringsdrivende", 0.1),
)
#: Every this-many-th entity is a deleted one (about 0.2%).
_DELETED_EVERY = 499

#: Roles by form: the first grants Integrasjoner packages; the ones after fill up to the
#: entity's share of role assignments. REVI and REGN are held by organisations.
_ROLES = {
    "ENK": ("INNH", "REGN", "REVI", "KONT"),
    "NUF": ("DAGL", "KNUF", "REGN", "KONT"),
    "DA": ("DTPR", "DAGL", "REGN", "KONT"),
    "ANS": ("DTSO", "DAGL", "REGN", "KONT"),
}
_DEFAULT_ROLES = ("DAGL", "LEDE", "MEDL", "NEST", "VARA", "REVI", "REGN", "KONT")
_ORGANIZATION_HELD = frozenset({"REVI", "REGN"})


@dataclass(frozen=True)
class Sizes:
    entities: int
    sub_units: int
    roles: int
    persons: int

    @classmethod
    def national(cls) -> Sizes:
        """Norway's size: 1.2 million entities, 900,000 sub-units, 4 million role assignments."""
        return cls(1_200_000, 900_000, 4_000_000, 1_500_000)


@dataclass
class NationalData:
    """The identifiers behind the files (in memory: for the process that writes or asks)."""

    sizes: Sizes
    entities: list[str]
    sub_units: list[str]
    persons: list[str]

    @classmethod
    def of(cls, sizes: Sizes) -> NationalData:
        main = organization_numbers(0, sizes.entities)
        subs = organization_numbers(sizes.entities * 11 // 10 + 1000, sizes.sub_units)
        return cls(sizes, main, subs, person_numbers(0, sizes.persons))

    # --- what each entity is, from its index alone --------------------------------------------

    def form_of(self, index: int) -> tuple[str, str]:
        return _pick(_MAIN_FORMS, index)

    def deleted(self, index: int) -> bool:
        return index % _DELETED_EVERY == _DELETED_EVERY - 1

    def has_roles(self, index: int) -> bool:
        return not self.deleted(index) and self.form_of(index)[0] != UNKNOWN_FORM

    def role_count(self, index: int) -> int:
        """How many roles entity `index` has: the role assignments spread evenly over the
        entities with roles, one more each for the first of them until the total is exact."""
        if not self.has_roles(index):
            return 0
        base, extra = divmod(self.sizes.roles, self._ranks[-1])
        return base + (1 if self._ranks[index] < extra else 0)

    def roles_of(self, index: int) -> list[dict[str, str]]:
        """The role assignments of entity `index` in the register format (empty: none); no
        role code twice, so no assignment twice."""
        codes = _ROLES.get(self.form_of(index)[0], _DEFAULT_ROLES)
        roles = []
        for slot in range(self.role_count(index)):
            code = codes[slot]
            if code in _ORGANIZATION_HELD:
                holder = self.entities[(index * 7919 + slot * 104_729 + 1) % len(self.entities)]
                if holder == self.entities[index]:
                    holder = self.entities[(index + 1) % len(self.entities)]
                roles.append({"code": code, "organization": holder})
            else:
                person = self.persons[(index * 2_654_435_761 + slot * 40_503) % len(self.persons)]
                roles.append({"code": code, "person": person})
        return roles

    @cached_property
    def _ranks(self) -> array:
        """For each entity, how many entities before it have roles; last: how many in all."""
        ranks, seen = array("l"), 0
        for index in range(self.sizes.entities):
            ranks.append(seen)
            seen += self.has_roles(index)
        ranks.append(seen)
        most = min(len(codes) for codes in (*_ROLES.values(), _DEFAULT_ROLES))
        if seen == 0 or self.sizes.roles > most * seen:
            raise ValueError(f"{self.sizes.roles} roles do not fit {seen} entities with roles")
        return ranks

    # --- the files ------------------------------------------------------------------------------

    def write(self, directory: Path) -> dict[str, Path]:
        """Write `enheter.json.gz`, `underenheter.json.gz` and `roller.json.gz` (the register
        format) into `directory` (made if need be); their paths by name."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = {
            "enheter": directory / "enheter.json.gz",
            "underenheter": directory / "underenheter.json.gz",
            "roller": directory / "roller.json.gz",
        }
        _write_array(paths["enheter"], map(self.entity, range(self.sizes.entities)))
        _write_array(paths["underenheter"], map(self.sub_unit, range(self.sizes.sub_units)))
        with gzip.open(paths["roller"], "wt", encoding="utf-8", compresslevel=1) as stream:
            stream.write('{"organizations": [\n')
            first = True
            for entry in self.register_entries():
                stream.write(("" if first else ",\n") + json.dumps(entry, ensure_ascii=False))
                first = False
            stream.write("\n]}\n")
        return paths

    def register_entries(self) -> Iterator[dict[str, Any]]:
        """The organisations with roles, in the register format."""
        for index, number in enumerate(self.entities):
            if self.has_roles(index):
                yield {
                    "organization_number": number,
                    "name": _name(index),
                    "org_form": self.form_of(index)[0],
                    "roles": self.roles_of(index),
                }

    def entity(self, index: int) -> dict[str, Any]:
        """Main unit `index` as Enhetsregisteret's bulk download gives it."""
        number = self.entities[index]
        form = _form(*self.form_of(index))
        if self.deleted(index):
            return {
                "organisasjonsnummer": number,
                "navn": _name(index),
                "organisasjonsform": form,
                "slettedato": _date(index + 7),
                "_links": _self(f"enheter/{number}"),
            }
        entity: dict[str, Any] = {
            "organisasjonsnummer": number,
            "navn": _name(index),
            "organisasjonsform": form,
            "postadresse": _address(index + 3),
            "registreringsdatoEnhetsregisteret": _date(index),
            "registrertIMvaregisteret": index % 3 == 0,
            "naeringskode1": {"kode": "62.010", "beskrivelse": "Programmeringstjenester"},
            "antallAnsatte": index % 40,
            "harRegistrertAntallAnsatte": index % 2 == 0,
            "forretningsadresse": _address(index),
            "stiftelsesdato": _date(index + 1),
            "institusjonellSektorkode": {
                "kode": "2100",
                "beskrivelse": "Private aksjeselskaper mv.",
            },
            "registrertIForetaksregisteret": index % 2 == 1,
            "registrertIStiftelsesregisteret": False,
            "registrertIFrivillighetsregisteret": False,
            "konkurs": False,
            "underAvvikling": False,
            "underTvangsavviklingEllerTvangsopplosning": False,
            "maalform": "Bokmål",
            "_links": _self(f"enheter/{number}"),
        }
        if form["kode"] == "ORGL":
            entity["overordnetEnhet"] = self.entities[(index * 31 + 5) % len(self.entities)]
        return entity

    def sub_unit(self, index: int) -> dict[str, Any]:
        """Sub-unit `index` as the bulk download gives it; its main unit is a main unit."""
        number = self.sub_units[index]
        form = _form(*_pick(_SUB_FORMS, index))
        if self.deleted(index):
            return {
                "organisasjonsnummer": number,
                "navn": _name(index + 1),
                "organisasjonsform": form,
                "slettedato": _date(index + 11),
                "_links": _self(f"underenheter/{number}"),
            }
        return {
            "organisasjonsnummer": number,
            "navn": _name(index + 1),
            "organisasjonsform": form,
            "registreringsdatoEnhetsregisteret": _date(index + 2),
            "registrertIMvaregisteret": index % 4 == 0,
            "naeringskode1": {"kode": "47.110", "beskrivelse": "Butikkhandel med bredt vareutvalg"},
            "antallAnsatte": index % 25,
            "harRegistrertAntallAnsatte": True,
            "overordnetEnhet": self.entities[(index * 13 + 1) % len(self.entities)],
            "oppstartsdato": _date(index + 5),
            "beliggenhetsadresse": _address(index + 9),
            "_links": _self(f"underenheter/{number}"),
        }


def _pick(shares: tuple[tuple[str, str, float], ...], index: int) -> tuple[str, str]:
    """The entry whose share covers `index`, spread evenly (a fixed stride through 0..1)."""
    point = (index * 0.6180339887498949) % 1.0
    total = 0.0
    for code, description, share in shares:
        total += share
        if point < total:
            return code, description
    return shares[-1][0], shares[-1][1]


def _form(code: str, description: str) -> dict[str, Any]:
    return {
        "kode": code,
        "beskrivelse": description,
        "_links": _self(f"organisasjonsformer/{code}"),
    }


def _self(path: str) -> dict[str, Any]:
    return {"self": {"href": f"{_API}/{path}"}}


_WORDS = ("NORD", "FJELL", "HAV", "SKOG", "BRU", "VIK", "DAL", "STRAND", "BERG", "HOLM")


def _name(index: int) -> str:
    a, b, c = index % 10, (index // 10) % 10, (index // 100) % 10
    return f"{_WORDS[a]}{_WORDS[b].lower()} OG {_WORDS[c]} {index} AS"


def _date(index: int) -> str:
    return f"{1990 + index % 35}-{1 + index % 12:02d}-{1 + index % 28:02d}"


def _address(index: int) -> dict[str, Any]:
    return {
        "land": "Norge",
        "landkode": "NO",
        "postnummer": f"{index % 10000:04d}",
        "poststed": "OSLO",
        "adresse": [f"Storgata {index % 200 + 1}"],
        "kommune": "OSLO",
        "kommunenummer": "0301",
    }


def _write_array(path: Path, entities: Iterator[dict[str, Any]]) -> None:
    """A JSON array, one entity per line, gzip'ed (level 1: writing fast matters more here)."""
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as stream:
        stream.write("[")
        first = True
        for entity in entities:
            stream.write(("" if first else ",\n") + json.dumps(entity, ensure_ascii=False))
            first = False
        stream.write("]\n")


def main(argv: list[str]) -> None:
    """`python -m benchmarks.national_data DIRECTORY [--entities N ...]`: write the files."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.national_data")
    parser.add_argument("directory", type=Path)
    national = Sizes.national()
    parser.add_argument("--entities", type=int, default=national.entities)
    parser.add_argument("--sub-units", type=int, default=national.sub_units)
    parser.add_argument("--roles", type=int, default=national.roles)
    parser.add_argument("--persons", type=int, default=national.persons)
    arguments = parser.parse_args(argv)
    sizes = Sizes(arguments.entities, arguments.sub_units, arguments.roles, arguments.persons)
    for path in NationalData.of(sizes).write(arguments.directory).values():
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
