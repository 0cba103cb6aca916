"""Moving through a questionnaire's pages: checking, skip logic on the server, Back, finishing."""

from __future__ import annotations

from questionnaires import as_form, load_bundled, plan_page, resume_page

COUNTER = load_bundled()["counter"]


def test_a_valid_page_moves_on_and_saves_only_that_page():
    step = plan_page(COUNTER, {}, {"access_place": ["4"]}, page=1, language="vi")
    assert (step.page, step.complete, step.errors) == (2, False, {})
    assert step.save == {"access_place": 4}
    assert set(step.replace) == {"access_place", "access_facilities", "procedure_public", "procedure_documents"}


def test_errors_keep_the_person_on_the_page():
    step = plan_page(COUNTER, {"access_place": 4}, {"servant_attitude": ["9"]}, page=2, language="en")
    assert step.page == 2 and not step.save
    assert step.errors == {"servant_attitude": "Please choose a number from 1 to 5.",
                           "complained": "Please answer this question."}


def test_skip_logic_drops_hidden_answers_when_finishing():
    stored = {"complained": "yes", "feedback_easy": 2}
    changed = plan_page(COUNTER, stored, {"complained": ["no"]}, page=2, language="vi")
    assert changed.page == 3
    done = plan_page(COUNTER, changed.answers, {"overall": ["5"], "feedback_handled": ["1"]}, page=3, language="vi")
    assert done.complete and done.replace is None
    assert done.save == {"complained": "no", "overall": 5}


def test_back_keeps_answers_without_requiring_any():
    step = plan_page(COUNTER, {"complained": "no"}, {"comment": ["Tốt"]}, page=3, language="vi", action="back")
    assert (step.page, step.errors, step.complete) == (2, {}, False)
    assert step.save == {"comment": "Tốt"}


def test_finishing_sends_the_person_to_an_earlier_page_with_a_missing_required_answer():
    step = plan_page(COUNTER, {}, {"overall": ["4"]}, page=3, language="vi")
    assert not step.complete
    assert step.page == 2 and set(step.errors) == {"complained"}


def test_resuming_goes_to_the_page_reached_unless_it_is_no_longer_shown():
    assert resume_page(COUNTER, {}, None) == 1
    assert resume_page(COUNTER, {"complained": "no"}, 3) == 3
    assert resume_page(COUNTER, {}, 7) == 3
    assert as_form({"a": 1, "b": ("x", "y"), "c": "t"}) == {"a": ["1"], "b": ["x", "y"], "c": ["t"]}
