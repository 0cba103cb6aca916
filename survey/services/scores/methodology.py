"""The methodology text: how every figure of a scores report is made, as the reports print it and
``survey methodology`` shows it, in Vietnamese or English from the text catalogue (keys ``methods.*``). Its
numbers (the minimums) are the report's own.

>>> sections = methodology(SmallSampleRule())
>>> sections[0].title
'Who is counted'
>>> "n < 30" in sections[1].text
True
>>> methodology(SmallSampleRule(), lang="vi")[0].title
'Đối tượng được tính'
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring import SmallSampleRule
from survey.i18n import N_, t

__all__ = ["MethodSection", "methodology"]


@dataclass(frozen=True)
class MethodSection:
    """One paragraph of the methodology: a title and its text."""

    title: str
    text: str


# The sections in the order they are printed: (title key, text key). The texts' placeholders are the names
# filled in by methodology().
_SECTIONS = (
    (N_("methods.counted.title"), N_("methods.counted.text")),
    (N_("methods.small_groups.title"), N_("methods.small_groups.text")),
    (N_("methods.index.title"), N_("methods.index.text")),
    (N_("methods.peers.title"), N_("methods.peers.text")),
    (N_("methods.periods.title"), N_("methods.periods.text")),
    (N_("methods.tests.title"), N_("methods.tests.text")),
    (N_("methods.funnel.title"), N_("methods.funnel.text")),
    (N_("methods.false_alarms.title"), N_("methods.false_alarms.text")),
    (N_("methods.reliability.title"), N_("methods.reliability.text")),
    (N_("methods.weighting.title"), N_("methods.weighting.text")),
)


def methodology(rule: SmallSampleRule, funnel_units: int = 5, alpha: float = 0.05,
                lang: str = "en") -> list[MethodSection]:
    """The methodology for a report made with ``rule`` (its display, comment and inference minimums), the
    funnel plots' fewest units and the significance level ``alpha``, in ``lang`` (``"vi"`` or ``"en"``)."""
    level = f"{alpha:g}"
    values = {
        "min_n": rule.min_n,
        "comments_min_n": max(rule.min_n, rule.min_n_comments),  # comments of a group not shown are not quoted
        "min_n_inference": rule.min_n_inference,
        "test_min_n": rule.test_min_n,
        "funnel_units": funnel_units,
        "alpha": level.replace(".", ",") if lang == "vi" else level,  # a decimal comma in Vietnamese
        "alpha_share": f"{alpha:.0%}",
    }
    return [MethodSection(t(title, lang), t(text, lang, **values)) for title, text in _SECTIONS]
