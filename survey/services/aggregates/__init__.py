"""The responses kept as counts per month cell, as every write path stores them: what scoring reads instead of the
responses behind them (:mod:`survey.services.scores.reading`).

* :mod:`~survey.services.aggregates.store`: the ``score_cell`` and ``score_coding`` tables, packing, reading;
* :mod:`~survey.services.aggregates.counting`: counting in the writer's transaction, rebuilding and verifying
  (``survey aggregates rebuild|verify``).

The arithmetic of counts is :mod:`scoring.tally`'s; the codes are :mod:`scoring.coding`'s.
"""

from survey.services.aggregates.counting import (
    Completed,
    Rebuilt,
    count_reads,
    count_responses,
    count_writes,
    questionnaire_published,
    rebuild,
    verify,
)
from survey.services.aggregates.store import read_kept_cells

__all__ = [
    "Completed",
    "Rebuilt",
    "count_reads",
    "count_responses",
    "count_writes",
    "questionnaire_published",
    "read_kept_cells",
    "rebuild",
    "verify",
]
