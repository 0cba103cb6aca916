"""Pure rules of the staff pages: who sees which unit, comment excerpts, where to go after signing in."""

from __future__ import annotations

import doctest

import pytest

import survey.services.accounts as accounts
import survey.services.browsing as browsing
import survey.services.scores.page as scores_page
from survey.services.accounts import StaffIdentity, can_see
from survey.services.browsing import excerpt
from survey.web import safe_next


def identity(role: str, unit_path: str) -> StaffIdentity:
    return StaffIdentity(id=1, username="u", display_name="U", role=role, unit_id=1, unit_code="X",
                         unit_path=unit_path, session_version=1)


def test_a_unit_manager_sees_its_subtree_and_nothing_else():
    hanoi = identity("unit_manager", "/VN/HN/")
    assert can_see(hanoi, "/VN/HN/") and can_see(hanoi, "/VN/HN/HN-BD/")
    assert not can_see(hanoi, "/VN/HCM/") and not can_see(hanoi, "/VN/")
    assert not can_see(hanoi, "/VN/HNX/")  # a sibling whose code starts alike


@pytest.mark.parametrize("role", ["admin", "quality", "leader"])
def test_admin_quality_and_leader_see_every_unit_whatever_their_own(role):
    district = identity(role, "/VN/HN/HN-BD/")
    assert all(can_see(district, path) for path in ("/VN/", "/VN/HN/", "/VN/HCM/HCM-Q1/"))
    assert can_see(identity(role, ""), "/VN/")


def test_what_each_role_may_do():
    from survey.services.accounts import may_reveal

    assert [not identity(role, "/VN/").read_only for role in accounts.ROLES] == [True, True, False, True]
    assert [may_reveal(identity(role, "/VN/")) for role in accounts.ROLES] == [True, True, False, True]


def test_a_unit_manager_without_a_unit_path_sees_nothing():
    assert not can_see(identity("unit_manager", ""), "/VN/")


def test_excerpts_keep_short_comments_and_cut_long_ones_at_a_word():
    assert excerpt("  Rất   tốt \n") == "Rất tốt"
    assert excerpt("") is None and excerpt(None) is None
    cut = excerpt("một hai ba bốn năm sáu", 12)
    assert cut == "một hai ba…" and len(cut) <= 12


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (None, "/staff/"),
        ("/staff/responses/3", "/staff/responses/3"),
        ("/staff?page=2", "/staff?page=2"),
        ("https://evil.example/staff/", "/staff/"),
        ("//evil.example/staff/", "/staff/"),
        ("/\\evil.example/staff/", "/staff/"),
        ("/s/abc", "/staff/"),
        ("/staff/login", "/staff/"),
    ],
)
def test_after_signing_in_only_staff_pages_of_this_site_are_allowed(target, expected):
    assert safe_next(target) == expected


@pytest.mark.parametrize("module", [accounts, browsing, scores_page], ids=lambda module: module.__name__)
def test_the_examples_in_the_docstrings_hold(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
