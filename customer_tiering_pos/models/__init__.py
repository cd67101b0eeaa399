# pos_order first: Odoo sets the models up in this order, and the sales view
# (customer_sale) reads the columns pos.order adds.
from . import pos_order  # noqa: I001
from . import customer_loyalty_ledger
from . import customer_sale
from . import customer_tiering_config
from . import loyalty_card
from . import loyalty_program
from . import res_partner
