"""``survey scores``: satisfaction scores for a scope and period, as a table for people, the API's JSON or CSV."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from survey.commands import run

if TYPE_CHECKING:
    from survey.services.scores import ScoreGroup, ScoreReport

__all__ = ["register", "report_csv", "report_table"]


def _keys(group: ScoreGroup, by: Sequence[str]) -> list[str]:
    return [str(getattr(group, d) or "-") for d in by]


def report_csv(report: ScoreReport) -> str:
    """One row per group and criterion (and one ``index`` row per group)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*report.by, "measure", "n", "response_rate", "value", "ci_low", "ci_high", "target", "met",
                     "suppressed", "suppression_reason", "index_criteria"])
    for group in report.groups:
        keys = _keys(group, report.by)
        rate = "" if group.response_rate is None else f"{group.response_rate:.4f}"
        if group.index is not None:
            i = group.index
            writer.writerow([*keys, "index", group.n, rate, _fmt(i.value), *(_fmt(x) for x in (i.ci or [None, None])),
                             _fmt(i.target), _fmt(i.met), i.suppressed, i.suppression_reason or "",
                             " ".join(i.criteria)])
            w = i.weighted
            if w is not None:
                writer.writerow([*keys, "index_weighted", group.n, rate, _fmt(w.value),
                                 *(_fmt(x) for x in (w.ci or [None, None])), _fmt(i.target), _fmt(w.met), w.suppressed,
                                 w.suppression_reason or "", " ".join(w.criteria)])
        for c in group.criteria:
            writer.writerow([*keys, c.id, c.n, rate, _fmt(c.satisfied_share),
                             *(_fmt(x) for x in (c.ci or [None, None])), _fmt(c.target), _fmt(c.met), c.suppressed,
                             c.suppression_reason or "", ""])
            cw = c.weighted
            if cw is not None:
                met = None if cw.satisfied_share is None or c.target is None else cw.satisfied_share >= c.target
                writer.writerow([*keys, f"{c.id}_weighted", c.n, rate, _fmt(cw.satisfied_share),
                                 *(_fmt(x) for x in (cw.ci or [None, None])), _fmt(c.target), _fmt(met),
                                 cw.suppressed, cw.suppression_reason or "", ""])
    return out.getvalue()


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def report_table(report: ScoreReport) -> None:
    """A rich table: per group n, response rate, the index with its interval and each criterion's share."""
    from rich.console import Console
    from rich.table import Table

    criteria = [c.id for c in report.groups[0].criteria] if report.groups else []
    table = Table(title=f"{report.questionnaire} v{report.version}, {report.period}"
                        f"{'' if report.unit is None else ', ' + report.unit}{', weighted' if report.weighted else ''}")
    for d in report.by:
        table.add_column(d)
    table.add_column("n", justify="right")
    table.add_column("resp. rate", justify="right")
    table.add_column("index [95% CI]", justify="right")
    if report.weighted:
        table.add_column("weighted index [95% CI] (deff)", justify="right")
    for c in criteria:
        table.add_column(f"{c} %", justify="right")
    for group in report.groups:
        index = group.index
        if index is None:
            index_text = "-"
        elif index.suppressed:
            index_text = f"suppressed ({index.suppression_reason})"
        else:
            low, high = index.ci or [math.nan, math.nan]
            index_text = f"{index.value:.1f} [{low:.1f}, {high:.1f}]{' ✓' if index.met else ''}"
        cells = []
        for c in group.criteria:
            cells.append("—" if c.satisfied_share is None else f"{100 * c.satisfied_share:.1f}")
        rate = "-" if group.response_rate is None else f"{100 * group.response_rate:.1f}%"
        extra = []
        if report.weighted:
            w = None if index is None else index.weighted
            if w is None:
                extra.append("-")
            elif w.suppressed:
                extra.append(f"suppressed ({w.suppression_reason})")
            else:
                low, high = w.ci or [math.nan, math.nan]
                extra.append(f"{w.value:.1f} [{low:.1f}, {high:.1f}] ({w.design_effect or math.nan:.2f})")
        table.add_row(*_keys(group, report.by), str(group.n), rate, index_text, *extra, *cells)
    console = Console()
    console.print(table)
    flagged = [f for f in report.funnel if f.flagged]
    if flagged:
        console.print("Flagged on the funnel plots (outside the 95% limits, q < 0.05): " + ", ".join(
            f"{f.unit} ({f.criterion}: {f.position}, q={_p(f.q_value)})" for f in flagged))
    for line in significant_lines(report):
        console.print(line)
    covered = {tuple(g.index.criteria) for g in report.groups if g.index is not None and not g.index.suppressed}
    if len(covered) > 1 or any(len(c) < len(criteria) for c in covered):
        console.print(f"The index covers the criteria that reach n={report.min_n} among those counted when answered "
                      "(see --format json, index.criteria).")
    tested = max(report.min_n, report.min_n_inference)
    console.print(f"— below n={report.min_n} a share is suppressed; tests need n={tested}; shares in percent, index "
                  "0–100; significance is judged on Benjamini–Hochberg q-values.")


SHOWN_FINDINGS = 15


def significant_lines(report: ScoreReport) -> list[str]:
    """The tests of the report whose q-value is below 0.05, the strongest first (at most :data:`SHOWN_FINDINGS`)."""
    alpha = float(report.multiple_testing.get("alpha", 0.05))
    found = []
    for group in report.groups:
        keys = ", ".join(_keys(group, report.by)) or "all"
        for test in group.tests:
            if test.q_value is not None and test.q_value < alpha:
                found.append((test.q_value, f"{keys}: {_describe(test)}"))
    for test in report.tests:
        if test.q_value is not None and test.q_value < alpha:
            found.append((test.q_value, f"{test.details.get('parent', '')}: {_describe(test)}"))
    if not found:
        return [f"No test significant after false-discovery control (q < {alpha:g}, "
                f"{report.multiple_testing.get('m', 0)} tests)."]
    found.sort(key=lambda item: item[0])
    lines = [f"Significant after false-discovery control (q < {alpha:g}, {report.multiple_testing.get('m', 0)} "
             "tests):"]
    lines += [f"  {text}" for _, text in found[:SHOWN_FINDINGS]]
    if len(found) > SHOWN_FINDINGS:
        lines.append(f"  … and {len(found) - SHOWN_FINDINGS} more (--format json gives every test with its q_value)")
    return lines


def _describe(test: Any) -> str:
    what = test.criterion or test.details.get("measure", "index")
    direction = ""
    # the sign of z (two proportions, trends) or of the rank-biserial r (Mann–Whitney's U has none)
    signed = test.effect_size if test.test == "mann_whitney" else test.statistic
    if signed is not None and test.comparison != "across_peers":
        direction = " higher" if signed > 0 else " lower"
    return f"{test.comparison} {what} ({test.test}){direction}, p={_p(test.pvalue)}, q={_p(test.q_value)}"


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


@click.command("scores")
@click.option("--questionnaire", required=True, help="Questionnaire id, e.g. post-call or counter.")
@click.option("--period", required=True,
              help="2026-05 (month), 2026-Q2 (quarter), 2026 (year) or 2026-01-01..2026-03-31 (from..to).")
@click.option("--unit", default=None, help="Unit code; the unit includes its subtree (default: every unit).")
@click.option("--service", default=None, help="Service code, e.g. HIC (default: every service).")
@click.option("--channel", default=None, type=click.Choice(["call", "counter", "online", "email", "fanpage"]),
              help="Contact channel (default: every channel).")
@click.option("--by", "by", multiple=True, type=click.Choice(["unit", "subunit", "service", "channel", "month"]),
              help="Group by this dimension; repeat for several (--by unit --by month). unit: each unit's own "
                   "responses; subunit: each unit directly under --unit (or the centre), with its subtree.")
@click.option("--weighted/--unweighted", default=None,
              help="Post-stratify to the contact volumes (by channel x service, or the cells of the questionnaire's "
                   "weighting section) and report the design effect and effective n. Default: weighted when the "
                   "questionnaire declares weighting.")
@click.option("--min-n", default=30, show_default=True, type=int, help="Suppress measures below this many answers.")
@click.option("--min-n-comments", default=10, show_default=True, type=int,
              help="Hide comments below this many respondents (and always below --min-n).")
@click.option("--min-n-inference", default=10, show_default=True, type=int,
              help="Test no group below this many answers (nor below --min-n): with a lower --min-n the counts "
                   "are shown but not tested.")
@click.option("--format", "output", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="table for people, json (the API's) or csv (one row per group and criterion).")
def scores(questionnaire: str, period: str, unit: str | None, service: str | None, channel: str | None,
           by: tuple[str, ...], weighted: bool | None, min_n: int, min_n_comments: int, min_n_inference: int,
           output: str) -> None:
    """Satisfaction scores with intervals, comparisons and tests for a scope and period.

    \b
    Per group: n, the index over the criteria that reach --min-n (a criterion marked in_index: when_answered
    counts only where enough people answered it; index.criteria says which), each criterion's satisfied share
    with its Wilson interval, NPS and CES; tests against the sibling units (peers), the previous period (a year
    once, with the previous year) and the same period a year earlier, the monthly trend (Mann-Kendall with Sen's
    slope; Cochran-Armitage on the monthly satisfied counts where there is no index) and reliability (alpha for
    three or more items, Spearman-Brown for two). Two proportions use Fisher's exact test when an expected count
    is below 5. Funnel plots compare units of one level (Spiegelhalter 2005, widened for overdispersion; five
    units at least). Every p-value has a Benjamini-Hochberg q-value over the report; significance uses q.
    Nothing about a group below --min-n is shown but its n.
    """
    import msgspec

    from survey.services.scores import ScoreParameterError, ScoreRequest, compute_scores

    try:
        request = ScoreRequest(questionnaire=questionnaire, period=period, unit=unit, service=service, channel=channel,
                               by=by, weighted=weighted, min_n=min_n, min_n_comments=min_n_comments,
                               min_n_inference=min_n_inference)
        from rich.console import Console

        with Console(stderr=True).status("Scoring ..."):
            report = run(compute_scores(request))
    except ScoreParameterError as error:
        hint = f"--{error.parameter.replace('_', '-')}"
        raise click.BadParameter(str(error).split(": ", 1)[1], param_hint=hint) from None
    if output == "json":
        click.echo(msgspec.json.format(msgspec.json.encode(report), indent=2).decode())
    elif output == "csv":
        click.echo(report_csv(report), nl=False)
    else:
        report_table(report)


@click.command("methodology")
@click.option("--min-n", default=30, show_default=True, type=int, help="The display minimum the text states.")
@click.option("--min-n-comments", default=10, show_default=True, type=int, help="The minimum for comments.")
@click.option("--min-n-inference", default=10, show_default=True, type=int, help="The minimum for a test.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="en", show_default=True,
              help="The language of the text (the reports print it in theirs).")
def methodology_command(min_n: int, min_n_comments: int, min_n_inference: int, lang: str) -> None:
    """How every figure of ``survey scores`` and the reports is made: the text the reports print."""
    from scoring import SmallSampleRule
    from survey.services.scores.methodology import methodology

    try:
        rule = SmallSampleRule(min_n, min_n_comments, min_n_inference)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    for section in methodology(rule, lang=lang):
        click.echo(click.style(section.title, bold=True))
        click.echo(click.wrap_text(section.text, width=100))
        click.echo()


def register(main: click.Group) -> None:
    main.add_command(scores)
    main.add_command(methodology_command)
