"""The survey side of the benchmark, run in a subprocess whose environment names the bench database.

``python -m bench.survey_db prepare COUNT TOKENS.json``: reference data and ``COUNT`` one-time links for the
``online-service`` questionnaire (after ``survey migrate``), written as a JSON list of plain tokens.

``python -m bench.survey_db verify EXPECTED.json REPORT.json``: ``EXPECTED`` holds ``acknowledged``, which
maps every token that was acknowledged (HTTP 200) to the answers sent, and the ``warmup`` tokens; the report
counts the acknowledged submissions missing from the database (no complete response, or answers that differ),
the tokens with more than one response, and the complete responses that were never acknowledged (a request
that timed out but still committed).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["answer_set", "prepare", "verify"]

QUESTIONNAIRE = "online-service"
UNIT = "HN-BD"
SERVICE = "ONLINE"
BATCH = 500


def answer_set(number: int) -> dict[str, Any]:
    """A valid, complete set of answers to ``online-service`` that varies with ``number``.

    Every visible question is answered (the detail of wrong information stays hidden: ``wrong_info`` is "no").

    >>> sorted(answer_set(0))
    ['comment', 'effort', 'ease_of_use', 'overall', 'platform', 'result', 'wrong_info']
    """
    return {
        "platform": ("vss-portal", "national-portal", "vssid")[number % 3],
        "ease_of_use": 3 + number % 3,
        "effort": 4 + number % 4,
        "result": ("done", "waiting")[number % 2],
        "overall": 3 + (number // 3) % 3,
        "wrong_info": "no",
        "comment": f"Ứng dụng VssID dễ dùng, cảm ơn (#{number})",
    }


def _token_hash(token: str) -> str:
    from delivery.tokens import token_hash
    from survey.settings import get_settings

    return token_hash(token, get_settings().secret_key)


async def prepare(count: int) -> list[str]:
    from survey.reference import seed_reference
    from survey.services.invitations import LinkSpec, create_links

    await seed_reference()
    spec = LinkSpec(questionnaire_key=QUESTIONNAIRE, unit_code=UNIT, service_code=SERVICE, language="vi")
    tokens: list[str] = []
    while len(tokens) < count:
        tokens += await create_links([spec] * min(5_000, count - len(tokens)))
    return tokens


async def _complete_among(tokens: list[str]) -> int:
    from survey.tables import Invitation, Response, ResponseStatus

    total = 0
    hashes = [_token_hash(token) for token in tokens]
    for start in range(0, len(hashes), BATCH):
        ids = [row["id"] for row in await Invitation.select(Invitation.id).where(
            Invitation.token_hash.is_in(hashes[start : start + BATCH]))]
        if ids:
            total += await Response.count().where(Response.invitation.is_in(ids),
                                                  Response.status == ResponseStatus.complete)
    return total


async def verify(expected: dict[str, dict[str, Any]], warmup: list[str]) -> dict[str, Any]:
    from questionnaires.answers import to_storage
    from survey.services.questionnaires import latest_version
    from survey.tables import Answer, Invitation, Response, ResponseStatus

    questionnaire = (await latest_version(QUESTIONNAIRE)).questionnaire
    questions = {q.id: q for q in questionnaire.questions}
    by_hash = {_token_hash(token): token for token in expected}
    missing: list[str] = []
    wrong_answers: list[str] = []
    found = 0
    hashes = list(by_hash)
    for start in range(0, len(hashes), BATCH):
        chunk = hashes[start : start + BATCH]
        invitations = await Invitation.select(Invitation.id, Invitation.token_hash).where(
            Invitation.token_hash.is_in(chunk))
        invitation_token = {row["id"]: by_hash[row["token_hash"]] for row in invitations}
        responses = await Response.select(Response.id, Response.invitation).where(
            Response.invitation.is_in(list(invitation_token) or [-1]),
            Response.status == ResponseStatus.complete,
        ) if invitation_token else []
        response_token = {row["id"]: invitation_token[row["invitation"]] for row in responses}
        stored: dict[str, dict[str, tuple[float | None, str | None]]] = {t: {} for t in response_token.values()}
        if response_token:
            answers = await Answer.select(Answer.response, Answer.question_id, Answer.value_number,
                                          Answer.value_text).where(Answer.response.is_in(list(response_token)))
            for row in answers:
                stored[response_token[row["response"]]][row["question_id"]] = (row["value_number"], row["value_text"])
        for token_hash in chunk:
            token = by_hash[token_hash]
            if token not in stored:
                missing.append(token)
                continue
            sent = {qid: to_storage(questions[qid], value) for qid, value in expected[token].items()}
            if stored[token] != sent:
                wrong_answers.append(token)
            else:
                found += 1
    # the database's own count: responses per invitation, and complete responses nobody was told about
    rows = await Response.raw(
        "SELECT invitation, COUNT(*) AS n FROM response WHERE invitation IS NOT NULL GROUP BY invitation "
        "HAVING COUNT(*) > 1")
    complete = await Response.count().where(Response.status == ResponseStatus.complete)
    warmup_complete = await _complete_among(warmup)
    return {
        "acknowledged": len(expected),
        "present": found,
        "missing": len(missing) + len(wrong_answers),
        "missing_examples": (missing + wrong_answers)[:5],
        "answers_differ": len(wrong_answers),
        "tokens_with_several_responses": len(rows),
        "complete_responses": complete,
        "warmup_complete": warmup_complete,
        "complete_unacknowledged": complete - found - len(wrong_answers) - warmup_complete,
    }


def main(argv: list[str]) -> None:
    command = argv[0]
    if command == "prepare":
        tokens = asyncio.run(prepare(int(argv[1])))
        Path(argv[2]).write_text(json.dumps(tokens))
    elif command == "verify":
        sent = json.loads(Path(argv[1]).read_text())
        report = asyncio.run(verify(sent["acknowledged"], sent["warmup"]))
        Path(argv[2]).write_text(json.dumps(report))
    else:
        raise SystemExit(f"unknown command {command!r}: use prepare or verify")


if __name__ == "__main__":
    main(sys.argv[1:])
