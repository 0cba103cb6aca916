"""The methodology text in both languages: the same sections, each stating the report's own numbers."""

from __future__ import annotations

import re

from scoring import SmallSampleRule
from survey.services.scores.methodology import methodology

RULE = SmallSampleRule(min_n=20, min_n_comments=25, min_n_inference=15)  # three different numbers, each stated


def numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:,\d+)?", text))


def test_the_vietnamese_methodology_has_the_english_sections_each_written_in_vietnamese():
    english = methodology(RULE, lang="en")
    vietnamese = methodology(RULE, lang="vi")

    assert len(vietnamese) == len(english) == 10
    for vi, en in zip(vietnamese, english, strict=True):
        assert vi.title.strip() and vi.text.strip()
        assert vi.title != en.title and vi.text != en.text, en.title


def test_the_vietnamese_methodology_states_the_rules_minimums():
    text = " ".join(section.text for section in methodology(RULE, lang="vi"))
    assert {str(RULE.min_n), str(RULE.min_n_comments), str(RULE.min_n_inference)} <= numbers(text)
    assert "n < 20" in text and "ít nhất 25 người trả lời" in text and "n = 20" in text


def test_each_section_states_the_same_numbers_in_both_languages():
    # a translation that dropped or changed a minimum would state other numbers than the English
    for vi, en in zip(methodology(RULE, 7, 0.05, lang="vi"), methodology(RULE, 7, 0.05, lang="en"), strict=True):
        assert numbers(vi.text) - {"0,05"} == numbers(en.text.replace("0.05", "")), en.title


def test_the_significance_level_is_written_with_a_decimal_comma_in_vietnamese():
    vi = {s.text for s in methodology(RULE, alpha=0.1, lang="vi")}
    en = {s.text for s in methodology(RULE, alpha=0.1, lang="en")}
    assert any("q < 0,1" in text and "khoảng 10%" in text for text in vi)
    assert any("q < 0.1" in text and "about 10%" in text for text in en)
