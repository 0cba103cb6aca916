"""The methodology text: how every figure of a scores report is made, as the reports print it and
``survey methodology`` shows it. Its numbers (the minimums) are the report's own.

>>> sections = methodology(SmallSampleRule())
>>> sections[0].title
'Who is counted'
>>> "n < 30" in sections[1].text
True
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring import SmallSampleRule

__all__ = ["MethodSection", "methodology"]


@dataclass(frozen=True)
class MethodSection:
    """One paragraph of the methodology: a title and its text."""

    title: str
    text: str


def methodology(rule: SmallSampleRule, funnel_units: int = 5, alpha: float = 0.05) -> list[MethodSection]:
    """The methodology for a report made with ``rule`` (its display, comment and inference minimums)."""
    tested = rule.test_min_n
    return [
        MethodSection("Who is counted", (
            "Each respondent counts once per criterion: their score on a criterion is the mean of its questions they "
            "answered, and they are satisfied when that score reaches the criterion's threshold (4 on a 1–5 scale). "
            "A criterion's satisfied share is satisfied respondents over respondents who answered it, with the Wilson "
            "score interval (95%).")),
        MethodSection("Small groups", (
            f"Below n < {rule.min_n} answers nothing about a group is shown except its n: no share, mean, "
            "distribution, count of satisfied answers, interval or test detail, in any table, file, page or report. "
            f"Comments are quoted only for groups of at least {max(rule.min_n, rule.min_n_comments)} respondents "
            "(the larger of the two minimums), with phone numbers and e-mail addresses masked. A group is tested "
            f"only from n = {tested} answers (the larger of the display minimum and the inference minimum of "
            f"{rule.min_n_inference}); with a lower display minimum its counts are shown but it is not tested.")),
        MethodSection("The composite index", (
            "The index (0–100) is the mean of the criteria's satisfied shares (weighted when the questionnaire says "
            f"so). It is shown for every group with at least n = {rule.min_n} over the criteria that reach n = "
            f"{rule.min_n}, and names them (index.criteria). A criterion marked 'when answered' (the counter's "
            "handling of comments and complaints, which SIPAS counts among the people who gave feedback) is left "
            "out where too few answered it; a required criterion below the minimum suppresses the index. Its 95% "
            "interval comes from Taylor linearisation with the respondent as the sampling unit. A trend of the "
            "index uses the same criteria in every month.")),
        MethodSection("Peers", (
            "A unit's peers are its sibling units, the other units under the same parent, counted as the unit is: "
            "with a breakdown by unit each unit's own answers, otherwise each sibling with its subtree. The unit's "
            "own subtree is never among its peers, and the parent's own counters are not peers: with a breakdown "
            "by unit they are a group of their own. The unit is compared with its peers pooled (two proportions "
            "and Mann–Whitney per criterion), and the peers with each other (Kruskal–Wallis with Dunn's pairs, "
            "Holm-adjusted).")),
        MethodSection("Periods", (
            "A period is compared with the period just before it and with the same period a year earlier; a year "
            "(whose previous period is the year before) is compared once. A reference period with fewer than "
            f"n = {tested} answers gives 'no comparison: too few answers in P' instead of a test, and a reference "
            "period with answers in only some of its months says so in a note.")),
        MethodSection("Tests", (
            "Two satisfied shares are compared with the pooled z test, or with Fisher's exact test when an expected "
            "count of the 2×2 table is below 5; answers with the Mann–Whitney U test (tie-corrected normal "
            "approximation). The trend over the twelve months that end with the period is Mann–Kendall's test with "
            "Sen's slope (on the monthly index where the questionnaire has one, otherwise on each criterion's "
            "monthly share, with the Cochran–Armitage test of its monthly satisfied counts); a month below the "
            "minimum is left out, and a unit with too few months for the index's test gets the Cochran–Armitage "
            "test of each criterion instead, which needs no monthly minimum. The CES interval is the t interval "
            "truncated to the scale.")),
        MethodSection("Funnel plots", (
            "A funnel plot compares units of one level: the children of a unit when it has at least "
            f"{funnel_units} (the provinces), otherwise every unit of that level in the country (the district "
            "offices of a province with fewer are compared with all district offices). The target is the "
            "criterion's declared target, otherwise the family's pooled share. Overdispersion is estimated from the "
            "z-scores winsorised at 10% (phi); when phi exceeds what chance allows, an additive random-effects "
            "variance tau² widens the limits (Spiegelhalter 2005). A family of fewer than "
            f"{funnel_units} units gets no funnel: too few units to compare.")),
        MethodSection("False alarms", (
            "A report runs hundreds of tests. Every p-value is given with its Benjamini–Hochberg q-value over the "
            "report's whole family of tests (peers, periods, trends, Kruskal–Wallis and the funnel points); every "
            f"significance marker on pages, in the command line and in reports uses q < {alpha:g}, so that about "
            f"{alpha:.0%} of what is marked may be chance, however many tests the report holds.")),
        MethodSection("Reliability", (
            "Cronbach's alpha (with Feldt's interval) is given for criteria of three or more questions; a negative "
            "alpha means the questions do not measure one thing. For two questions alpha is not meaningful: the "
            "inter-item correlation r and the Spearman–Brown coefficient 2r/(1+r) are given instead.")),
        MethodSection("Weighting", (
            "Where the questionnaire asks for it, respondents are weighted to the period's contacts of the "
            "questionnaire's own channels by channel × service (post-stratification); the design effect and "
            "effective n say what the weights cost, and a weighted share is judged on its effective n.")),
    ]
