"""The doctor's human output, in the style of ``flutter doctor``: one line per area, then the
likely causes with their evidence, what was recovered, and what to do — in English, Chinese
or both (each sentence from the wording catalog, doctor/locale/*.toml).

The text is for whoever stands at the terminal: a cause is said as how likely it is and where
the trouble is, in words (:mod:`.plain`); the catalog's ids, groups, steps and scores are the
operator view (``verbose``) and ``--json``. After ``--fix`` the report shows what was found
(each piece of evidence once), what the fix did, and then the areas as they are after it; a
cause the fix put right has nothing left to do.
"""

from __future__ import annotations

from possettle.doctor.catalog import STEPS
from possettle.doctor.model import Diagnosis, Report
from possettle.doctor.plain import PLACE, likelihood
from possettle.doctor.wording import LANGS, Lang, Text, join, say


class _Out:
    def __init__(self, langs: tuple[Lang, ...]) -> None:
        self.langs = langs
        self.lines: list[str] = []

    def both(self, text: Text, sep: str = " / ") -> str:
        return sep.join(t for x in self.langs if (t := text.of(x)))

    def add(self, line: str) -> None:
        self.lines.append(line)


def render(report: Report, lang: str = "both", *, verbose: bool = False) -> str:
    langs: tuple[Lang, ...] = LANGS if lang == "both" else tuple(x for x in LANGS if x == lang)
    out = _Out(langs)
    out.add(out.both(_title(report)))
    if report.fixed:
        _causes(out, report, verbose, say("report.found_before_fix"))
        out.add("")
        out.add(out.both(say("report.after_fix")))
        _checks(out, report)
    else:
        _checks(out, report)
        _causes(out, report, verbose, say("report.likely_causes"))
    out.add("")
    verdict = say("report.no_issues") if report.ok else say("report.issues_remain")
    out.add(" / ".join(f"• {verdict.of(x)}" for x in langs))
    return "\n".join(out.lines)


def _title(report: Report) -> Text:
    batch = f"{report.batch:06d}" if report.batch is not None else "?"
    failed = report.failed_batch
    if failed is None:
        return say("report.title", tid=report.terminal, batch=batch)
    if failed == report.batch:
        return say("report.title_failed", tid=report.terminal, failed=f"{failed:06d}")
    return say("report.title_failed_open", tid=report.terminal, failed=f"{failed:06d}", batch=batch)


def _checks(out: _Out, report: Report) -> None:
    for c in report.checks:
        text = out.both(Text(c.en, c.zh))
        out.add(f"[{c.status.mark}] {out.both(say(f'area.{c.area}'), ' ')}: {text}")
    # the same counts as --json's pending_reversals and offline_items
    if report.pending_reversals is None or report.offline_items is None:
        out.add(out.both(say("report.pending_unknown")))
    else:
        pending = say(
            "report.pending", reversals=report.pending_reversals, offline=report.offline_items
        )
        out.add(out.both(pending))


def _causes(out: _Out, report: Report, verbose: bool, heading: Text) -> None:
    if not report.diagnoses:
        return
    out.add("")
    out.add(out.both(heading))
    shown: set[tuple[str, str]] = set()
    for n, d in enumerate(report.diagnoses, 1):
        _cause(out, n, d, verbose, shown)


def _cause(out: _Out, n: int, d: Diagnosis, verbose: bool, shown: set[tuple[str, str]]) -> None:
    both = out.both
    band = say(f"likelihood.{likelihood(n, d.score)}")
    place = say(f"place.{PLACE[d.cause.id]}")
    words = say(f"step.{d.step}") if d.step in STEPS else d.step
    step = f" {both(say('report.at_step', step=words))}" if d.step else ""
    out.add(f"{n}. {both(band)} — {both(place)}{step}")
    if verbose:
        view = say(
            "report.operator_view",
            cause=d.cause.id,
            group=d.cause.group.text,
            step=d.step or "-",
            score=d.score,
        )
        out.add(f"   {both(view)}")
    for x in out.langs:
        out.add(f"   {d.cause.what.of(x)}")
    # each piece of evidence once in the report: causes that share it are listed after the
    # first that shows it
    for e in d.evidence[:5]:
        if (e.en, e.zh) in shown:
            continue
        shown.add((e.en, e.zh))
        out.add(f"   • {both(Text(e.en, e.zh))}")
    r = d.recovery
    if r:
        action, result = say(f"recovery.{r['action']}"), say(f"recovery.{r['result']}")
        out.add(f"   ↻ {both(say('report.recovered'))}: {both(action)} → {both(result)}")
        if verbose and r.get("detail"):
            out.add(f"     {both(say('report.recovery_detail', detail=r['detail']))}")
    if r and r.get("result") == "ok":
        out.add(f"   ✓ {both(say('report.nothing_left'))}")
    else:
        out.add(f"   → {both(say('report.todo'))}: {both(d.cause.remedy)}")
    if d.cause.id == "external.undetected" and d.ruled_out:
        # where the trouble is not, in words: a place whose every cause is ruled out (the
        # acquirer is not cleared by clearing one of its causes); the ids in the operator view
        cleared = set(d.ruled_out)
        places = [
            p
            for p in dict.fromkeys(PLACE.values())
            if cleared.issuperset(c for c, at in PLACE.items() if at is p)
        ]
        if places:
            ruled_out = join(say(f"place.{p}") for p in places)
            out.add(f"   {both(say('report.ruled_out'))}: {both(ruled_out)}")
        if verbose:
            out.add(f"   {both(say('report.ruled_out'))}: {', '.join(d.ruled_out)}")
