"""A report's content (from :mod:`.assemble`) as a PDF: the charts (:mod:`survey.charts`, embedded as SVG images),
the print template, WeasyPrint as a tagged PDF (PDF/UA-1). Pure and synchronous: it runs in a rendering process."""

from __future__ import annotations

from typing import Any

from survey import charts
from survey.i18n import t
from survey.services.pdf import render_document

__all__ = ["TEMPLATES", "add_charts", "render_report"]

TEMPLATES = {"unit": "print/report.html", "service": "print/report.html", "leadership": "print/leadership.html"}


def _chart(svg: str) -> dict[str, Any]:
    width, height = charts.chart_size(svg)
    return {"src": charts.svg_data_uri(svg), "width": width, "height": height}


def _part_charts(part: dict[str, Any], lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    too_few = t("report.chart.too_few", lang)
    rows = [charts.IntervalRow(c["label"], c["share"], *(c["ci"] or (None, None)), note=None if c["share"] is not None
                               else too_few) for c in part["criteria"]]
    if rows:
        target = next((c["target"] for c in part["criteria"] if c["target"] is not None), None)
        out["criteria"] = _chart(charts.interval_chart(rows, target=target, target_label=t("report.chart.target", lang),
                                                      x_label=t("report.chart.satisfied_share", lang)))
    if part["distributions"]:
        first = part["distributions"][0]
        same = [d for d in part["distributions"] if len(d["counts"]) == len(first["counts"])]
        out["distribution"] = _chart(charts.distribution_chart(
            [charts.Distribution(d["label"], d["counts"], d["n"]) for d in same], point_labels=first["points"],
            x_label=t("report.chart.answers_share", lang), row_height_mm=11))
    points = part["trend"]["points"]
    if any(p["value"] is not None for p in points):
        target = part["index"]["target"] if part["index"] else None
        out["trend"] = _chart(charts.trend_chart(
            [charts.TrendPoint(p["label"], p["value"], p["low"], p["high"]) for p in points], target=target,
            target_label=t("report.chart.target", lang), y_label=t("report.chart.index", lang)))
    funnel = part.get("funnel")
    if funnel:
        c = funnel["curve"]
        points = [charts.FunnelPoint(p["label"], p["n"], p["share"], p["highlight"], p["flagged"])
                  for p in funnel["points"]]
        out["funnel"] = _chart(charts.funnel_chart(
            points, charts.FunnelCurve(c["n"], c["lower_95"], c["upper_95"], c["lower_998"], c["upper_998"]),
            target=funnel["target"], target_label=t("report.chart.target", lang),
            x_label=t("report.chart.answers_n", lang), y_label=t("report.chart.satisfied_share", lang)))
    return out


def _league_charts(league: dict[str, Any], lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    too_few = t("report.chart.too_few", lang)
    rows = [charts.IntervalRow(r["name"], r["value"], *(r["ci"] or (None, None)), note=None if r["value"] is not None
                               else too_few) for r in league["units"]]
    if rows:
        out["league"] = _chart(charts.interval_chart(rows, scale="index", target=league.get("target"),
                                                    target_label=t("report.chart.target", lang),
                                                    x_label=t("report.chart.index", lang)))
    if league["units"] and league["criteria"]:
        out["heatmap"] = _chart(charts.heatmap([r["name"] for r in league["units"]], league["criteria"],
                                               [r["cells"] for r in league["units"]], missing_label="–"))
    services = [charts.IntervalRow(s["name"], s["value"], *(s["ci"] or (None, None)),
                                   note=None if s["value"] is not None else too_few) for s in league["services"]]
    if services:
        out["services"] = _chart(charts.interval_chart(services, scale="index", x_label=t("report.chart.index", lang)))
    funnel = league.get("funnel")
    if funnel:
        out.update({"funnel": _part_charts({"criteria": [], "distributions": [], "trend": {"points": []},
                                            "index": None, "funnel": funnel}, lang)["funnel"]})
    return out


def add_charts(content: dict[str, Any]) -> dict[str, Any]:
    """``content`` with each part's and league's charts (SVG images) beside the figures."""
    lang = content["lang"]
    parts = [{**part, "charts": _part_charts(part, lang)} for part in content["parts"]]
    leagues = [{**league, "charts": _league_charts(league, lang)} for league in content.get("leagues", [])]
    return {**content, "parts": parts, "leagues": leagues}


def render_report(content: dict[str, Any]) -> tuple[bytes, int]:
    """The PDF of ``content`` and its number of pages."""
    document = render_document(TEMPLATES[content["kind"]], add_charts(content))
    pdf = document.write_pdf(pdf_variant="pdf/ua-1")
    assert pdf is not None
    return bytes(pdf), len(document.pages)
