"""Synthetic corpus generator: N budget disclosures made from the five bundled seeds
(``ingest/samples/*.txt``), for scale benchmarks and tests.

    .venv/bin/python benchmarks/synthetic.py --n 1000 --out /tmp/corpus [--seed 0] [--verify] [--measure]

Each generated file keeps its template's text layout (PDF text, narrow-column PDF text, Markdown/TSV,
DOCX text) and differs from it in:

- **Place.** A made-up county (two characters + the template's 县 or 市, never a real seed name and
  not a name on the deny list in ``synthetic_vocab.DENY``), a made-up prefecture-level city (…市) and
  a real province. Provinces must be real: the parser knows exactly the 34 real province-level
  divisions (``ingest/gazetteer.py``) and would silently drop a made-up one. Counties are spread over
  17 of them (three-character …省 names with an unambiguous 文号 abbreviation, so wrapped PDF cells
  keep their width and the province resolves from the same evidence as in the template). Every
  occurrence is replaced consistently: county, prefecture and province names (also when a line
  break cuts them: 大城|县), the 文号 issuer letters (冀财社 -> 浙财社, 唐医保办字 -> the new city's
  first letter, 乐政发 -> the new county's), the budget unit code (460, 460001), GB/T 2260 codes in
  project codes (13022524P… -> the new county's code and year), the town (蔚汾镇) and the officials
  of 003 (made-up names, phone numbers in the 170 block). The department stays 医疗保障局: every seed
  is one, and its text is all about medical insurance.
- **Year.** Fiscal years 2019-2025. The template's year and every year-dependent mention move by
  the same offset (2023年, 预算年度：2023, 〔2022〕, 2022-12-31, 2021.12月, 填报日期 stamps, 20年底).
- **Amounts.** Every money figure (万元 tables, narrative …万元, 003's 元 forms ≥ 10,000 元) is
  multiplied by one integer factor per document (1-5). Integer factors keep every sum *exact* in
  decimal (no re-rounding), so each table still adds up and percentages stay right. A factor also
  multiplies the template's own rounding differences, so only factors that keep those within the
  checks' tolerance are used: for 003, whose tables carry 0.01 万元 differences checked with a
  0.01 tolerance, that leaves factor 1 (its amounts do not vary; the rest of it does). Counts of
  people, percentages, dates, codes, per-person standards (每人280元) and thresholds (单价在 20 万元以上)
  are left alone.
- **Wording.** Indicator names (三级指标) are paraphrased (群众满意度 -> 参保群众满意率 / 服务对象满意度 /
  now and then 桐汀参保群众满意度 …), target figures change within the same number of digits (≥98% ->
  ≥95%, 2400人次 -> 2280人次), and some seventy equal-length phrase swaps (加强 -> 强化, 我县 -> 本县,
  补助资金 -> 补贴资金 …) are applied occurrence by occurrence, so narrative paragraphs differ too;
  inside project names a swap is made everywhere or nowhere in a document (the parser matches a
  project's narrative and table mentions by name), so some project names differ consistently.
  Equal length keeps the wrapped PDF-text lines as wide as before. Titles of cited documents and
  the table vocabulary (可持续影响指标 …) are never reworded.

004 stays truncated (it is real data cut mid-table). Which variation is safe for which template is
proven on the real parser when the template is compiled (``synthetic_plan.py``; the outcome is
cached in ~/.cache/budgetkg/synthetic, keyed by the generator's and the parser's sources), and
``--verify`` re-parses every generated file: it must name its new county, prefecture, province,
department and year, have the template's budget lines (codes and names), numbers of projects,
indicators and citations, no error or warning the template does not have, and no seed place or
person name. ``--measure`` prints the share of distinct indicator, project, paragraph and
embedded texts (what de-duplication before embedding would leave).

Document ``i`` depends only on (seed, i): the first 100 documents of a 1,000 corpus are the 100 of a
100 corpus. Templates rotate (i % 5); a county publishes a series of up to seven years with one
template family, and a county that has 000 (budget) also has 004 (performance targets) for the same
year, as the seed county does. Six counties make a prefecture. The made-up name space allows about
14,000 documents (1,600 county names).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from random import Random

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.synthetic_plan import Params, Template, serious_findings  # noqa: E402
from benchmarks.synthetic_vocab import USABLE_PROVINCES, YEARS, NameBook, person_name, phone_number  # noqa: E402

SAMPLES = ROOT / "ingest" / "samples"
COUNTIES_PER_PREFECTURE = 6
_NAME_CHANGE = 0.85  # share of indicators whose name is paraphrased in a document
_COUNTY_NAMED = 0.15  # share of paraphrases that name the county, where one can
_VALUE_CHANGE = 0.7  # share of target figures changed
_SWAP_ON = 0.5  # chance of each phrase swap being used: per document in project names, else per occurrence


# ------------------------------------------------------------------ templates


def _code_fingerprint() -> str:
    """Hash of everything a compiled template depends on: the generator and the parser sources."""
    h = hashlib.sha256()
    files = [ROOT / "benchmarks" / "synthetic_plan.py", ROOT / "benchmarks" / "synthetic_vocab.py"]
    files += sorted((ROOT / "ingest").rglob("*.py"))
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "budgetkg" / "synthetic"


def load_templates(samples: Path = SAMPLES, *, cache: bool = True) -> list[Template]:
    """The seed files compiled into templates. What the proof decided is cached as JSON (in
    ``~/.cache/budgetkg/synthetic``, keyed by the seed text and the generator and parser sources),
    so a later run only parses each seed once."""
    fingerprint = _code_fingerprint() if cache else ""
    out = []
    for path in sorted(samples.glob("*.txt")):
        key = hashlib.sha256(fingerprint.encode() + path.read_bytes()).hexdigest()[:20]
        cached = _cache_dir() / f"{path.stem}-{key}.json"
        if cache and cached.exists():
            out.append(Template(path, proven=json.loads(cached.read_text(encoding="utf-8"))))
            continue
        template = Template(path)
        if cache:
            cached.parent.mkdir(parents=True, exist_ok=True)
            for stale in cached.parent.glob(f"{path.stem}-*.json"):  # proven by older sources
                stale.unlink(missing_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(template.proven(), ensure_ascii=False), encoding="utf-8")
            tmp.replace(cached)
        out.append(template)
    if not out:
        raise FileNotFoundError(f"no seed disclosures (*.txt) in {samples}")
    return out


def families(templates: list[Template]) -> dict[str, int]:
    """Template id -> family: templates of the same seed county (000 budget, 004 targets) share
    counties, so a generated county publishes both for a year, as 乐亭县 does."""
    order: dict[str, int] = {}
    out = {}
    for t in templates:
        out[t.tid] = order.setdefault(t.county, len(order))
    return out


# ------------------------------------------------------------------ one document


def document(i: int, seed: int, templates: list[Template], names: NameBook) -> tuple[Template, Params, dict]:
    """Template, parameters and manifest entry of document ``i``."""
    fam = families(templates)
    n_families = len(set(fam.values()))
    t = templates[i % len(templates)]
    j = i // len(templates)
    series, slot = divmod(j, len(YEARS))
    family = fam[t.tid]
    county_id = series * n_families + family
    years = list(YEARS)
    Random(f"{seed}:years:{county_id}").shuffle(years)
    year = years[slot]
    prefecture_id = county_id // COUNTIES_PER_PREFECTURE
    province = USABLE_PROVINCES[prefecture_id % len(USABLE_PROVINCES)]
    within = prefecture_id // len(USABLE_PROVINCES) + 1
    if within > 99:
        raise ValueError(f"document {i}: more prefectures per province than GB/T 2260 codes allow")
    county_rng = Random(f"{seed}:county:{county_id}")
    unit_code = f"{county_rng.randrange(100, 1000):03d}"
    first_county_code = 81 if t.county_suffix == "市" else 21
    admin_code = f"{province.code}{within:02d}{first_county_code + county_id % COUNTIES_PER_PREFECTURE:02d}"
    people: dict[str, str] = {}
    taken: set[str] = set()
    for old in t.people:
        if old.isdigit():
            people[old] = phone_number(county_rng)
        else:
            people[old] = person_name(county_rng, taken)
            taken.add(people[old])
    rng = Random(f"{seed}:doc:{i}")
    factor = rng.choice(t.factors)
    swaps = frozenset(k for k in sorted(t.swaps) if rng.random() < _SWAP_ON)  # in project names
    chosen_names = {g: _pick_variant(v, rng) for g, v in sorted(t.name_variants.items()) if rng.random() < _NAME_CHANGE}
    chosen_values = {g: rng.randrange(1 << 30) for g in sorted(t.value_groups) if rng.random() < _VALUE_CHANGE}
    p = Params(county_core=names.county_core(county_id), county_suffix=t.county_suffix,
               prefecture_core=names.prefecture_core(prefecture_id), province=province,
               town=names.town(county_id), unit_code=unit_code, admin_code=admin_code,
               year_delta=year - t.year, factor=factor, swaps=swaps, loose_swaps=t.swaps,
               loose_share=_SWAP_ON, names=chosen_names,
               values=chosen_values, people=people)
    entry = {
        "file": f"{i:05d}_{t.tid}.txt", "template": t.path.name, "kind": t.base.kind.value,
        "county": p.county, "prefecture": p.prefecture, "province": province.name,
        "department": p.county + t.department_suffix, "department_code": unit_code,
        "admin_code": admin_code if t.admin_code else None, "fiscal_year": year, "amount_factor": factor,
        "wording": {"indicator_names_paraphrased": len(chosen_names), "target_figures_changed": len(chosen_values),
                    "indicators": len(t.groups), "project_name_swaps_on": len(swaps),
                    "phrase_swaps_usable": len(t.swaps)},
    }
    return t, p, entry


def _pick_variant(variants: list[str], rng: Random) -> int:
    """A paraphrase index; the ones naming the county ({county}…) only now and then, as real
    indicator tables mostly do not repeat their county's name."""
    local = [i for i, v in enumerate(variants) if "{county}" in v]
    plain = [i for i in range(len(variants)) if i not in local]
    if local and (not plain or rng.random() < _COUNTY_NAMED):
        return rng.choice(local)
    return rng.choice(plain)


def generate(n: int, out: str | Path, seed: int = 0, *, templates: list[Template] | None = None,
             cache: bool = True) -> dict:
    """Write ``n`` disclosures and ``manifest.json`` into ``out``; return the manifest."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    templates = templates or load_templates(cache=cache)
    names = NameBook(seed)
    started = time.perf_counter()
    entries = []
    for i in range(n):
        t, p, entry = document(i, seed, templates, names)
        stats: Counter[str] = Counter()
        (out / entry["file"]).write_text(t.render(p, rng_seed=f"{seed}:{i}", stats=stats), encoding="utf-8")
        entry["wording"].update(stats)
        entries.append(entry)
    manifest = {"seed": seed, "n": n, "templates": [t.describe() for t in templates], "documents": entries,
                "seconds": round(time.perf_counter() - started, 3)}
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


# ------------------------------------------------------------------ checking and measuring


def seed_words(templates: list[Template]) -> set[str]:
    """Names from the seeds that must not appear in generated text: places and people."""
    words = {t.county for t in templates} | {t.prefecture_core + "市" for t in templates} | set().union(
        *(set(t.people) for t in templates))
    words |= {s.text for t in templates for s in t.slots if s.kind == "town"}
    return words


def check_document(path: Path, entry: dict, template: Template, forbidden: set[str]):
    """Parse one generated file; return (problems, disclosure)."""
    from ingest.pipeline import parse_path

    d = parse_path(path)
    problems = []
    for field in ("county", "prefecture", "province", "department", "fiscal_year"):
        if getattr(d, field) != entry[field]:
            problems.append(f"{field} read as {getattr(d, field)!r}, expected {entry[field]!r}")
    if entry["admin_code"] and d.admin_code != entry["admin_code"]:
        problems.append(f"admin code read as {d.admin_code!r}, expected {entry['admin_code']!r}")
    base = template.base
    counts = lambda x: (len(x.budget_lines), len(x.projects), sum(len(p.indicators) for p in x.projects)  # noqa: E731
                        + len(x.department_indicators), len(x.legal_refs))
    if counts(d) != counts(base):
        problems.append(f"lines/projects/indicators/citations {counts(d)}, template {counts(base)}")
    lines = lambda x: [(line.table.value, line.code, line.name) for line in x.budget_lines]  # noqa: E731
    if lines(d) != lines(base):
        wrong = [(a, b) for a, b in zip(lines(d), lines(base)) if a != b][:1]
        problems.append(f"budget lines read differently from the template's: {wrong}")
    extra = Counter(serious_findings(d)) - Counter(serious_findings(base))
    if extra:
        problems.append(f"new findings {sorted(extra)}: " + "; ".join(
            f.message[:120] for f in d.findings if (f.check, f.severity.value) in extra))
    text = path.read_text(encoding="utf-8")
    leaked = sorted(w for w in forbidden if w in text)
    if leaked:
        problems.append(f"seed names left in the text: {leaked}")
    return problems, d


def _texts(d) -> dict[str, list[str]]:
    indicators = [(i.name, i.target_value) for p in d.projects for i in p.indicators] + \
        [(i.name, i.target_value) for i in d.department_indicators]
    paragraphs = [para.strip() for passage in d.passages for para in passage.text.split("\n")
                  if len(para.strip()) >= 10]
    return {"indicator texts (name：value)": [f"{a}：{b}" for a, b in indicators],
            "indicator names": [a for a, _ in indicators],
            "project names": [p.name for p in d.projects],
            "narrative paragraphs": paragraphs,
            "embedded texts (as search/corpus.py builds them, approx.)": _embedded_texts(d)}


def _embedded_texts(d) -> list[str]:
    """Roughly the texts the search index embeds for a disclosure (search/corpus.py): indicators
    with their level and project, their bare names, projects with goals, citations, one item per
    budget-line code, and passages cut into chunks."""
    from search.corpus import GOAL_CHARS, chunk_text

    out = []
    for p in d.projects:
        for i in p.indicators:
            body = f"{i.name}：{i.target_value}" if i.target_value else i.name
            out += [body + f"（{i.level2}；{p.name}）", i.name]
        aliases = f"（{'；'.join(p.aliases)}）" if p.aliases else ""
        out.append(p.name + aliases + (f"：{p.goal[:GOAL_CHARS]}" if p.goal else ""))
    out += [f"{i.name}：{i.target_value}（{i.level2}）" for i in d.department_indicators]
    out += [" ".join(x for x in (r.number, f"《{r.title}》" if r.title else "") if x) for r in d.legal_refs]
    out += sorted({f"{b.code} {b.name}" for b in d.budget_lines if b.code})
    for passage in d.passages:
        out += [f"{passage.title}：{chunk}" for chunk, _ in chunk_text(passage.text)]
    return out


def distinct_shares(disclosures: list, templates_by_file: list[Template]) -> dict[str, dict]:
    """For each kind of text: how many there are, the share that are distinct across the corpus,
    and the share that differ from the same item in the document's template."""
    pools: dict[str, list[str]] = {}
    changed: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for d, t in zip(disclosures, templates_by_file):
        mine, theirs = _texts(d), _texts(t.base)
        for kind, items in mine.items():
            pools.setdefault(kind, []).extend(items)
            if kind == "narrative paragraphs":
                base = set(theirs[kind])
                changed[kind] += sum(1 for x in items if x not in base)
            else:
                changed[kind] += sum(1 for a, b in zip(items, theirs[kind]) if a != b)
            total[kind] += len(items)
    return {kind: {"items": len(items), "distinct": len(set(items)),
                   "distinct_share": round(len(set(items)) / max(1, len(items)), 3),
                   "differs_from_template": round(changed[kind] / max(1, total[kind]), 3)}
            for kind, items in pools.items()}


# ------------------------------------------------------------------ command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True, help="number of disclosures to write")
    parser.add_argument("--out", required=True, help="folder for the files and manifest.json")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    parser.add_argument("--verify", action="store_true",
                        help="parse every file and check identity, counts, findings and leaked seed names")
    parser.add_argument("--measure", action="store_true",
                        help="parse every file and print the share of distinct indicator, project and "
                             "paragraph texts (implies parsing; slow: ~0.2 s per file)")
    parser.add_argument("--no-cache", action="store_true", help="recompile the templates instead of using the cache")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")

    t0 = time.perf_counter()
    templates = load_templates(cache=not args.no_cache)
    compile_s = time.perf_counter() - t0
    for t in templates:
        info = t.describe()
        print(f"template {info['template']}: factors {info['factors']}, {info['swaps']} phrase swaps, "
              f"{info['indicators_with_paraphrases']}/{info['indicators']} indicators paraphrasable, "
              f"{info['indicators_with_varied_figures']} with varied figures")
    manifest = generate(args.n, args.out, args.seed, templates=templates)
    print(f"templates ready in {compile_s:.1f} s; wrote {args.n} files to {args.out} in {manifest['seconds']:.1f} s "
          f"({args.n / max(manifest['seconds'], 1e-9):.0f} files/s, one core)")

    if not (args.verify or args.measure):
        return 0
    by_name = {t.path.name: t for t in templates}
    forbidden = seed_words(templates)
    failures, parsed, used = 0, [], []
    t0 = time.perf_counter()
    for entry in manifest["documents"]:
        t = by_name[entry["template"]]
        problems, d = check_document(Path(args.out) / entry["file"], entry, t, forbidden)
        if problems and args.verify:
            failures += 1
            print(f"{entry['file']}: " + " | ".join(problems))
        parsed.append(d)
        used.append(t)
    print(f"parsed {len(parsed)} files in {time.perf_counter() - t0:.1f} s")
    if args.verify:
        print(f"verify: {len(parsed) - failures}/{len(parsed)} files parse like their template")
    if args.measure:
        for kind, row in distinct_shares(parsed, used).items():
            print(f"{kind}: {row['items']} items, {row['distinct']} distinct ({row['distinct_share']:.1%}), "
                  f"{row['differs_from_template']:.1%} differ from the template's")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
