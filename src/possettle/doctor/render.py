"""The doctor's human output, in the style of ``flutter doctor``: one line per area, then the
likely causes with their evidence, what was recovered, and what to do — in English, Chinese
or both (each sentence from the wording catalog, doctor/locale/*.toml)."""

from __future__ import annotations

from possettle.doctor.model import Report
from possettle.doctor.wording import LANGS, Lang, Text, say


def render(report: Report, lang: str = "both") -> str:
    langs: tuple[Lang, ...] = LANGS if lang == "both" else tuple(x for x in LANGS if x == lang)

    def both(text: Text, sep: str = " / ") -> str:
        return sep.join(t for x in langs if (t := text.of(x)))

    out: list[str] = []
    batch = f"{report.batch:06d}" if report.batch is not None else "?"
    out.append(both(say("report.title", tid=report.terminal, batch=batch)))
    for c in report.checks:
        text = both(Text(c.en, c.zh))
        out.append(f"[{c.status.mark}] {both(say(f'area.{c.area}'), ' ')}: {text}")
    if report.diagnoses:
        out.append("")
        out.append(both(say("report.likely_causes")))
    for n, d in enumerate(report.diagnoses, 1):
        # the step in the first language only: "at step print" or "步骤 print"
        step = f" {say('report.at_step', step=d.step).of(langs[0])}" if d.step else ""
        out.append(f"{n}. {d.cause.id} ({both(d.cause.group.text, ' ')}){step} — {d.score:.0%}")
        out.extend(f"   {d.cause.what.of(x)}" for x in langs)
        for e in d.evidence[:5]:
            out.append(f"   • {both(Text(e.en, e.zh))}")
        if d.recovery:
            r = d.recovery
            label = both(say("report.recovered"))
            out.append(
                f"   ↻ {label}: {r['action']} → {r['result']} {r.get('detail', '')}".rstrip()
            )
        out.append(f"   → {both(say('report.todo'))}: {both(d.cause.remedy)}")
        if d.cause.id == "external.undetected" and d.ruled_out:
            out.append(f"   {both(say('report.ruled_out'))}: {', '.join(d.ruled_out)}")
    out.append("")
    verdict = say("report.no_issues") if report.ok else say("report.issues_remain")
    out.append(" / ".join(f"• {verdict.of(x)}" for x in langs))
    return "\n".join(out)
