"""Tolerance checks for the engine tests, with pytest.approx's rule: the
difference is within ``rel`` times the expected value or within ``abs_``,
whichever is larger (relative to the expected value only, unlike
math.isclose); ``abs_`` alone means only the absolute tolerance."""

DEFAULT_REL = 1e-6
DEFAULT_ABS = 1e-12


def is_approx(actual, expected, rel=None, abs_=None):
    if rel is None and abs_ is not None:
        return abs(actual - expected) <= abs_
    tolerance = max(
        (DEFAULT_REL if rel is None else rel) * abs(expected),
        DEFAULT_ABS if abs_ is None else abs_,
    )
    return abs(actual - expected) <= tolerance


class ApproxAssertions:
    """Mixin for odoo.tests cases: assertApprox(actual, expected, rel=..., abs_=...)."""

    def assertApprox(self, actual, expected, rel=None, abs_=None, msg=None):
        if not is_approx(actual, expected, rel=rel, abs_=abs_):
            self.fail(msg or f"{actual!r} is not {expected!r} within rel={rel}, abs={abs_} (pytest.approx defaults)")
