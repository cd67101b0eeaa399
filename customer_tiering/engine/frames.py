"""Small pandas helpers shared by the engine and the job."""

from datetime import date, timedelta

import pandas as pd

#: pandas computes with nanoseconds: its dates reach from 1677 to 2262, and
#: the time between two of them at most 292 years. Odoo's dates reach from
#: year 1 to 9999. Dates are read into a range that keeps both: a lock
#: "until 9999-12-31" is a lock for as long as the add-on can tell, and an
#: invoice dated in the year 25 by mistake is older than any window. The
#: ceiling leaves room for the months and days the jobs add to a date.
DATE_FLOOR = "1900-01-01"
DATE_CEILING = "2150-12-31"


def differs(new, old):
    """Element-wise ``new != old``, where two missing values are equal."""
    both_missing = new.isna() & old.isna()
    return ~(new.eq(old).fillna(False).astype(bool) | both_missing)


def dates(column):
    """ISO date texts (or missing values) as datetimes, those beyond the
    range pandas computes with brought to its ends (``DATE_FLOOR``,
    ``DATE_CEILING``): the text of a date sorts as the date does."""
    if column.dtype == object:
        column = column.where(column.isna() | (column >= DATE_FLOOR), DATE_FLOOR)
        column = column.where(column.isna() | (column <= DATE_CEILING), DATE_CEILING)
    return pd.to_datetime(column)


def window_exit(day, window):
    """The first day ``review`` whose window, the days after ``review -
    window`` (a relativedelta), no longer holds ``day``: when a sale leaves
    the revenue window, or when points earned on ``day`` expire. Month
    arithmetic does not invert (31 January + 1 month - 1 month is the 28th),
    so the day is searched from ``day + window`` on."""
    try:
        review = day + window
        while review - window < day:
            review += timedelta(days=1)
    except (OverflowError, ValueError):  # a day near 9999-12-31: it never leaves
        return date.max
    return review
