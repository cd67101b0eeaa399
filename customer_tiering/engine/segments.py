"""Named RFM segments: boxes of R, F and M scores, each score from 1 to 5.

A segment holds the customers whose three scores all fall within its
ranges. The boxes are turned into a table of the 125 possible (R, F, M)
cells once, so that placing a million customers is one lookup each in
numpy, whatever the number of segments.

Segments are given as a DataFrame with ``id`` and the six bounds of
``BOUND_COLUMNS``; customers as a DataFrame with the scores of
``SCORE_COLUMNS`` (``Int64``, missing for customers who never bought).
"""

import numpy as np
import pandas as pd

LOWEST, HIGHEST = 1, 5
SCORE_COLUMNS = ("rfm_r", "rfm_f", "rfm_m")
#: (lowest, highest) bound columns of each score, in the order of SCORE_COLUMNS.
BOUNDS = (("r_min", "r_max"), ("f_min", "f_max"), ("m_min", "m_max"))
BOUND_COLUMNS = tuple(column for pair in BOUNDS for column in pair)
#: The cell of a customer in no segment.
NONE = 0


def _clipped(value):
    return min(max(int(value), LOWEST), HIGHEST)


def cell_table(segments):
    """The segment id of each (R, F, M) cell, ``NONE`` where no segment
    holds it: a (5, 5, 5) array indexed by score - 1. Where boxes overlap,
    the first segment of the frame wins; bounds beyond 1 to 5 are read as
    1 or 5, and a box whose lowest bound is above its highest holds nothing."""
    table = np.full((HIGHEST,) * len(BOUNDS), NONE, dtype=np.int64)
    # The last first, so that the first segment overwrites the others.
    for segment in reversed(list(segments.itertuples(index=False))):
        box = tuple(
            slice(_clipped(getattr(segment, low)) - LOWEST, _clipped(getattr(segment, high))) for low, high in BOUNDS
        )
        table[box] = segment.id
    return table


def assign(scores, segments):
    """Per customer (row of ``scores``), the id of the segment whose box
    holds its R, F and M scores, as ``Int64``: missing when a score is
    missing or out of 1 to 5, or no segment holds the customer's cell."""
    values = scores[list(SCORE_COLUMNS)].astype("Float64").fillna(0).to_numpy(dtype="float64")
    known = ((values >= LOWEST) & (values <= HIGHEST)).all(axis=1)
    cells = values[known].astype(np.int64) - LOWEST
    ids = np.full(len(values), NONE, dtype=np.int64)
    ids[known] = cell_table(segments)[tuple(cells.T)] if len(cells) else []
    result = pd.Series(ids, index=scores.index, dtype="Int64")
    return result.mask(result == NONE)


def out_of_range(segments):
    """Ids of the segments with a bound below 1 or above 5."""
    bounds = segments[list(BOUND_COLUMNS)]
    return segments.loc[((bounds < LOWEST) | (bounds > HIGHEST)).any(axis=1), "id"].tolist()


def inverted(segments):
    """Ids of the segments with a lowest bound above its highest."""
    mask = pd.Series(False, index=segments.index)
    for low, high in BOUNDS:
        mask |= segments[low] > segments[high]
    return segments.loc[mask, "id"].tolist()


def overlaps(segments):
    """[(id, other id, (R, F, M) of their lowest shared cell)] of the pairs
    of segments whose boxes share a cell, each pair once, in the frame's order."""
    ids = segments["id"].to_numpy()
    low = np.stack([segments[low].to_numpy() for low, _high in BOUNDS], axis=1)
    high = np.stack([segments[high].to_numpy() for _low, high in BOUNDS], axis=1)
    # Two boxes share a cell when their ranges meet on each score.
    shared_low = np.maximum(low[:, None, :], low[None, :, :])
    shared_high = np.minimum(high[:, None, :], high[None, :, :])
    meet = (shared_low <= shared_high).all(axis=2) & (low <= high).all(axis=1)[:, None] & (low <= high).all(axis=1)
    first, second = np.nonzero(np.triu(meet, k=1))
    return [
        (int(ids[i]), int(ids[j]), tuple(int(score) for score in shared_low[i, j]))
        for i, j in zip(first, second, strict=True)
    ]
