"""Small pandas helpers shared by the engine and the job."""


def differs(new, old):
    """Element-wise ``new != old``, where two missing values are equal."""
    both_missing = new.isna() & old.isna()
    return ~(new.eq(old).fillna(False).astype(bool) | both_missing)
