"""The doctor's human output, in the style of ``flutter doctor``: one line per area, then the
likely causes with their evidence, what was recovered, and what to do — in English, Chinese
or both."""

from __future__ import annotations

from possettle.doctor.model import AREA_ZH, Report


def render(report: Report, lang: str = "both") -> str:
    en, zh = lang in ("en", "both"), lang in ("zh", "both")
    out: list[str] = []
    batch = f"{report.batch:06d}" if report.batch is not None else "?"
    title = []
    if en:
        title.append(f"Doctor summary for terminal {report.terminal}, batch {batch}")
    if zh:
        title.append(f"终端 {report.terminal} 诊断，批次 {batch}")
    out.append(" / ".join(title))
    for c in report.checks:
        area = " ".join(x for x in (c.area if en else "", AREA_ZH[c.area] if zh else "") if x)
        text = " / ".join(x for x in (c.en if en else "", c.zh if zh else "") if x)
        out.append(f"[{c.status.mark}] {area}: {text}")
    if report.diagnoses:
        out.append("")
        out.append(
            " / ".join(x for x in ("Likely causes" if en else "", "可能原因" if zh else "") if x)
        )
    for n, d in enumerate(report.diagnoses, 1):
        group = " ".join(
            x for x in (d.cause.group.value if en else "", d.cause.group.zh if zh else "") if x
        )
        step = f" at step {d.step}" if d.step and en else (f" 步骤 {d.step}" if d.step else "")
        out.append(f"{n}. {d.cause.id} ({group}){step} — {d.score:.0%}")
        if en:
            out.append(f"   {d.cause.what.en}")
        if zh:
            out.append(f"   {d.cause.what.zh}")
        for e in d.evidence[:5]:
            out.append(
                "   • " + " / ".join(x for x in (e.en if en else "", e.zh if zh else "") if x)
            )
        if d.recovery:
            r = d.recovery
            label = " / ".join(
                x for x in ("recovered" if en else "", "自动恢复" if zh else "") if x
            )
            out.append(
                f"   ↻ {label}: {r['action']} → {r['result']} {r.get('detail', '')}".rstrip()
            )
        todo = " / ".join(x for x in ("do" if en else "", "处理" if zh else "") if x)
        texts = [x for x in (d.cause.remedy.en if en else "", d.cause.remedy.zh if zh else "") if x]
        out.append(f"   → {todo}: " + " / ".join(texts))
        if d.cause.id == "external.undetected" and d.ruled_out:
            ruled = " / ".join(x for x in ("ruled out" if en else "", "已排除" if zh else "") if x)
            out.append(f"   {ruled}: {', '.join(d.ruled_out)}")
    out.append("")
    if report.ok:
        out.append(
            " / ".join(
                x
                for x in ("• No issues left." if en else "", "• 没有未解决的问题。" if zh else "")
                if x
            )
        )
    else:
        out.append(
            " / ".join(
                x
                for x in ("• Issues remain." if en else "", "• 仍有未解决的问题。" if zh else "")
                if x
            )
        )
    return "\n".join(out)
