"""Unit tests of the pure RFM segment engine (no database)."""

import itertools

import numpy as np
import pandas as pd

from odoo.tests import BaseCase, tagged

from odoo.addons.customer_tiering.engine import segments
from odoo.addons.customer_tiering.models.customer_rfm_segment import DEFAULT_SEGMENTS


def boxes(rows):
    """rows: {id: (r_min, r_max, f_min, f_max, m_min, m_max)}"""
    return pd.DataFrame(
        [(segment_id, *bounds) for segment_id, bounds in rows.items()], columns=["id", *segments.BOUND_COLUMNS]
    )


def scores(rows):
    """rows: {partner_id: (r, f, m)}, None for a missing score."""
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(segments.SCORE_COLUMNS))
    return frame.astype("Int64")


def assigned(score_rows, box_rows):
    result = segments.assign(scores(score_rows), boxes(box_rows))
    return {pid: (None if pd.isna(value) else int(value)) for pid, value in result.items()}


#: The standard segments, numbered 1 to 11 in DEFAULT_SEGMENTS' order.
STANDARD = boxes(
    {
        number: (r_min, r_max, f_min, f_max, 1, 5)
        for number, (_name, _seq, _color, (r_min, r_max), (f_min, f_max), _playbook) in enumerate(DEFAULT_SEGMENTS, 1)
    }
)
NAMES = {number: default[0]._translate("en_US") for number, default in enumerate(DEFAULT_SEGMENTS, 1)}


def standard(r, f, m=3):
    result = segments.assign(scores({1: (r, f, m)}), STANDARD)
    return None if pd.isna(result[1]) else NAMES[int(result[1])]


@tagged("post_install", "-at_install")
class TestBoxes(BaseCase):
    def test_bounds_are_inclusive(self):
        box = {7: (2, 4, 2, 4, 2, 4)}
        inside = {1: (2, 2, 2), 2: (4, 4, 4), 3: (2, 4, 3)}
        outside = {4: (1, 3, 3), 5: (5, 3, 3), 6: (3, 1, 3), 7: (3, 5, 3), 8: (3, 3, 1), 9: (3, 3, 5)}
        self.assertEqual(assigned({**inside, **outside}, box), {**dict.fromkeys(inside, 7), **dict.fromkeys(outside)})

    def test_missing_or_impossible_scores_have_no_segment(self):
        everything = {3: (1, 5, 1, 5, 1, 5)}
        rows = {1: (None, None, None), 2: (5, None, 5), 3: (0, 3, 3), 4: (6, 3, 3), 5: (5, 5, 5)}
        self.assertEqual(assigned(rows, everything), {1: None, 2: None, 3: None, 4: None, 5: 3})

    def test_a_cell_no_segment_holds_has_none(self):
        self.assertEqual(assigned({1: (1, 1, 1), 2: (5, 5, 5)}, {4: (5, 5, 1, 5, 1, 5)}), {1: None, 2: 4})
        self.assertEqual(assigned({1: (1, 1, 1)}, {}), {1: None})

    def test_no_customers(self):
        result = segments.assign(scores({}), STANDARD)
        self.assertEqual((len(result), str(result.dtype)), (0, "Int64"))

    def test_the_first_segment_wins_an_overlap(self):
        # The constraints refuse overlaps; the engine still gives one answer.
        self.assertEqual(assigned({1: (3, 3, 3)}, {8: (1, 5, 1, 5, 1, 5), 2: (3, 3, 3, 3, 3, 3)}), {1: 8})

    def test_out_of_range_bounds_are_read_within_1_to_5(self):
        self.assertEqual(assigned({1: (1, 1, 1), 2: (5, 5, 5)}, {6: (0, 9, -3, 5, 1, 7)}), {1: 6, 2: 6})

    def test_inverted_box_holds_nothing(self):
        self.assertEqual(assigned({1: (3, 3, 3)}, {6: (4, 2, 1, 5, 1, 5)}), {1: None})

    def test_vectorised_equals_one_by_one(self):
        rng = np.random.default_rng(7)
        rows = {pid: tuple(int(value) for value in rng.integers(1, 6, 3)) for pid in range(2000)}
        result = assigned(rows, {3: (4, 5, 1, 5, 2, 5), 9: (1, 3, 4, 5, 1, 5), 5: (1, 2, 1, 2, 1, 1)})

        def one(r, f, m):
            if 4 <= r <= 5 and 2 <= m <= 5:
                return 3
            if 1 <= r <= 3 and 4 <= f <= 5:
                return 9
            if 1 <= r <= 2 and 1 <= f <= 2 and m == 1:
                return 5
            return None

        self.assertEqual(result, {pid: one(*row) for pid, row in rows.items()})


@tagged("post_install", "-at_install")
class TestChecks(BaseCase):
    def test_out_of_range(self):
        rows = {1: (1, 5, 1, 5, 1, 5), 2: (0, 5, 1, 5, 1, 5), 3: (1, 5, 1, 6, 1, 5), 4: (1, 5, 1, 5, 1, 5)}
        self.assertEqual(segments.out_of_range(boxes(rows)), [2, 3])

    def test_inverted(self):
        rows = {1: (3, 3, 1, 5, 1, 5), 2: (1, 5, 4, 3, 1, 5), 3: (1, 5, 1, 5, 5, 4)}
        self.assertEqual(segments.inverted(boxes(rows)), [2, 3])

    def test_touching_boxes_overlap_adjacent_ones_do_not(self):
        self.assertEqual(segments.overlaps(boxes({1: (1, 3, 1, 5, 1, 5), 2: (3, 5, 2, 2, 4, 5)})), [(1, 2, (3, 2, 4))])
        self.assertEqual(segments.overlaps(boxes({1: (1, 3, 1, 5, 1, 5), 2: (4, 5, 1, 5, 1, 5)})), [])

    def test_boxes_apart_on_one_score_only_do_not_overlap(self):
        for score in range(3):
            low = [1, 5, 1, 5, 1, 5]
            high = [1, 5, 1, 5, 1, 5]
            low[2 * score + 1], high[2 * score] = 2, 3
            self.assertEqual(segments.overlaps(boxes({1: tuple(low), 2: tuple(high)})), [], score)

    def test_every_overlapping_pair_once(self):
        rows = {1: (1, 5, 1, 5, 1, 5), 2: (1, 1, 1, 1, 1, 1), 3: (5, 5, 5, 5, 5, 5), 4: (4, 5, 4, 5, 4, 5)}
        pairs = [(first, second) for first, second, _cell in segments.overlaps(boxes(rows))]
        self.assertEqual(pairs, [(1, 2), (1, 3), (1, 4), (3, 4)])

    def test_an_inverted_box_overlaps_nothing(self):
        self.assertEqual(segments.overlaps(boxes({1: (1, 5, 1, 5, 1, 5), 2: (3, 2, 1, 5, 1, 5)})), [])


@tagged("post_install", "-at_install")
class TestStandardSegments(BaseCase):
    def test_every_cell_in_exactly_one_segment(self):
        self.assertEqual(segments.overlaps(STANDARD), [])
        self.assertEqual(segments.out_of_range(STANDARD) + segments.inverted(STANDARD), [])
        table = segments.cell_table(STANDARD)
        self.assertFalse((table == segments.NONE).any(), "every R, F, M cell has a segment")

    def test_grid(self):
        """R from 5 (top) to 1, F from 1 to 5; M does not matter."""
        grid = [
            ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
            ["Promising", "Potential loyalist", "Potential loyalist", "Loyal", "Loyal"],
            ["About to sleep", "About to sleep", "Need attention", "Loyal", "Loyal"],
            ["Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"],
            ["Lost", "Lost", "At risk", "At risk", "Can't lose them"],
        ]
        for (row, r), (column, f), m in itertools.product(enumerate(range(5, 0, -1)), enumerate(range(1, 6)), (1, 5)):
            self.assertEqual(standard(r, f, m), grid[row][column], (r, f, m))
