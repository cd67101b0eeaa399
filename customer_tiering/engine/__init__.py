"""Pure computation for customer tiering: pandas and numpy only, no Odoo.

The Odoo job reads aggregates with SQL, hands plain DataFrames to these
functions, and writes back what they return.
"""
