# The mixin first: the tier and the segment inherit it, so it must be in the registry before them.
from . import mailing_filter_synced_mixin  # noqa: I001
from . import customer_rfm_segment, customer_tier, mailing_filter, mailing_mailing, res_partner
