"""What the graph holds, for resolving questions: areas, departments, disclosures (who published
what for which year), cited 文号, project names and classification names.

Collected with seven SELECTs that each touch one kind of resource (no join across the graph), so a
store of 10,000 disclosures is read in about a second; the result is cached per index generation
by ``search.qa``. Names are kept in ``NameIndex`` tables, so finding them in a question does not
depend on how many there are. English (pinyin) names of areas are made on the first English
question, not at build time (pypinyin over 14,000 area labels takes ~1.5 s).

Project names are kept without their IRIs (one name may label thousands of projects at scale):
a query that needs the projects a question names matches them by label in the SPARQL itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from rdflib import Literal

from search.names import NameIndex
from search.places import AREA_SUFFIXES, DEPARTMENT_TYPES, PROVINCE_EN, department_type_of
from search.romanize import english_names
from search.sparql import PREFIXES, text, value
from search.store import GraphStore, select_all


@dataclass
class Place:
    iri: str
    label: str
    level: str | None
    parent: str | None = None
    names: list[str] = field(default_factory=list)  # label, short form (Chinese)


@dataclass
class Department:
    iri: str
    label: str
    area: str | None
    kind: str | None = None  # department type (医疗保障局), when listed in search.places


@dataclass(frozen=True)
class Holding:
    """One disclosure: who published it, for which area and year."""

    disclosure: str
    department: str
    area: str | None
    year: int | None


@dataclass
class Gazetteer:
    """Names the store knows, for resolving questions."""

    places: list[Place] = field(default_factory=list)
    departments: list[Department] = field(default_factory=list)
    holdings: list[Holding] = field(default_factory=list)
    doc_numbers: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    project_names: dict[str, str | None] = field(default_factory=dict)  # name -> language tag
    classifications: list[tuple[str, str]] = field(default_factory=list)  # (科目 name, code)
    has_topic_tags: bool = False

    # ------------------------------------------------------------ lookups

    @cached_property
    def _places_by_iri(self) -> dict[str, Place]:
        return {p.iri: p for p in self.places}

    @cached_property
    def _departments_by_iri(self) -> dict[str, Department]:
        return {d.iri: d for d in self.departments}

    def place(self, iri: str | None) -> Place | None:
        return self._places_by_iri.get(iri or "")

    def department(self, iri: str | None) -> Department | None:
        return self._departments_by_iri.get(iri or "")

    @cached_property
    def children(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for p in self.places:
            if p.parent:
                out.setdefault(p.parent, []).append(p.iri)
        return out

    def within(self, iri: str) -> set[str]:
        """The area and every area inside it."""
        out, todo = set(), [iri]
        while todo:
            a = todo.pop()
            if a not in out:
                out.add(a)
                todo.extend(self.children.get(a, []))
        return out

    def ancestors(self, iri: str | None) -> list[Place]:
        out, seen = [], set()
        place = self.place(iri)
        while place is not None and place.iri not in seen:
            seen.add(place.iri)
            out.append(place)
            place = self.place(place.parent)
        return out

    @cached_property
    def department_kinds(self) -> set[str]:
        return {d.kind for d in self.departments if d.kind}

    # ------------------------------------------------------------ name tables

    @cached_property
    def place_index(self) -> NameIndex[Place]:
        return NameIndex((n, p) for p in self.places for n in p.names)

    @cached_property
    def department_index(self) -> NameIndex[Department]:
        index: NameIndex[Department] = NameIndex()
        for d in self.departments:
            index.add(d.label, d)
            # 兴县医保局 for 兴县医疗保障局: the short forms of the department's type.
            if d.kind and d.label.endswith(d.kind):
                stem = d.label[: -len(d.kind)]
                for alias in DEPARTMENT_TYPES.get(d.kind, ()):
                    if not alias.isascii():
                        index.add(stem + alias, d)
        return index

    @cached_property
    def english_place_index(self) -> NameIndex[Place]:
        """Pinyin and English names of the areas ("laoting", "xing county", "shanxi")."""
        index: NameIndex[Place] = NameIndex()
        for p in self.places:
            short = _short_name(p.label)
            en = PROVINCE_EN.get(short or p.label)
            if en:
                index.add(en, p)
            for name in english_names(p.label):
                index.add(name, p)
        return index

    @cached_property
    def project_index(self) -> NameIndex[str]:
        return NameIndex((n, n) for n in self.project_names if len(n) >= 3)

    @cached_property
    def classification_index(self) -> NameIndex[str]:
        return NameIndex((name, code) for name, code in self.classifications if len(name) >= 3)

    def warm(self) -> "Gazetteer":
        """Build every name table now (at start-up), not on the first question that needs it."""
        for table in ("place_index", "department_index", "english_place_index", "project_index",
                      "classification_index", "children"):
            getattr(self, table)
        return self

    # ------------------------------------------------------------ holdings

    def holdings_in(self, places: list[Place] | None = None, departments: list[Department] | None = None,
                    years: list[int] | None = None) -> list[Holding]:
        """Disclosures from the given areas (or anything inside them) / departments, in the years."""
        areas = set().union(*(self.within(p.iri) for p in places)) if places else None
        depts = {d.iri for d in departments} if departments else None
        return [h for h in self.holdings
                if (areas is None or h.area in areas) and (depts is None or h.department in depts)
                and (not years or h.year in years)]

    def area_label(self, iri: str | None) -> str:
        place = self.place(iri)
        return place.label if place else "?"


def _short_name(label: str) -> str | None:
    """乐亭县 -> 乐亭, 河北省 -> 河北; None when what is left would be one character (兴县)."""
    for suffix in AREA_SUFFIXES:
        if label.endswith(suffix) and len(label) - len(suffix) >= 2:
            return label[: -len(suffix)]
    return None


def build_gazetteer(store: GraphStore) -> Gazetteer:
    """Collect area/department/project names, disclosures, cited 文号 and years from the store."""
    gaz = Gazetteer()
    seen: dict[str, Place] = {}
    for r in select_all(store, PREFIXES + """
SELECT ?a ?label ?level ?parent WHERE {
  ?a a bkg:AdministrativeArea ; rdfs:label ?label .
  OPTIONAL { ?a bkg:adminLevel ?level }
  OPTIONAL { ?a bkg:partOf ?parent }
}"""):
        iri = str(r["a"])
        if iri in seen:
            continue
        label = text(r.get("label")) or ""
        names = [label] + [s for s in [_short_name(label)] if s]
        place = Place(iri, label, text(r.get("level")), text(r.get("parent")), names)
        seen[iri] = place
        gaz.places.append(place)
    departments: dict[str, Department] = {}
    for r in select_all(store, PREFIXES + """
SELECT ?d ?dept ?label ?area ?year WHERE {
  ?d a bkg:Disclosure ; bkg:publishedBy ?dept .
  OPTIONAL { ?d bkg:fiscalYear ?year }
  OPTIONAL { ?dept rdfs:label ?label }
  OPTIONAL { ?dept bkg:area ?area }
}"""):
        dept = str(r["dept"])
        if dept not in departments:
            label = text(r.get("label")) or ""
            departments[dept] = Department(dept, label, text(r.get("area")), department_type_of(label))
        year = value(r.get("year"))
        gaz.holdings.append(Holding(str(r["d"]), dept, text(r.get("area")), int(year) if year is not None else None))
    gaz.departments = list(departments.values())
    gaz.holdings = sorted(set(gaz.holdings), key=lambda h: (h.area or "", h.year or 0, h.disclosure))
    gaz.years = sorted({h.year for h in gaz.holdings if h.year is not None})
    gaz.doc_numbers = sorted({str(r["n"]) for r in select_all(store, PREFIXES + """
SELECT DISTINCT ?n WHERE { ?doc bkg:documentNumber ?n }""")})
    # Labels from the projects, aliases from the alias triples (few) back to projects: a
    # ``rdfs:label|skos:altLabel`` path here was 5x slower.
    for query in ("SELECT DISTINCT ?l WHERE { ?d bkg:hasProject ?p . ?p rdfs:label ?l }",
                  "SELECT DISTINCT ?l WHERE { ?p skos:altLabel ?l . FILTER EXISTS { ?d bkg:hasProject ?p } }"):
        for r in select_all(store, PREFIXES + query):
            term = r["l"]
            gaz.project_names.setdefault(str(term), term.language if isinstance(term, Literal) else None)
    # Concepts used by some budget line (a FILTER EXISTS per concept: ~70 concepts, not a scan of
    # every line joined with its concept).
    gaz.classifications = sorted({(str(r["l"]), str(r["n"])) for r in select_all(store, PREFIXES + """
SELECT DISTINCT ?l ?n WHERE { ?c skos:notation ?n ; skos:prefLabel|skos:altLabel ?l .
  FILTER EXISTS { ?line bkg:classification ?c } }""")})
    gaz.has_topic_tags = bool(store.query(PREFIXES + "ASK { ?s bkg:topic ?t }").boolean)
    return gaz
