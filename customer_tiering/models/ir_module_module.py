from odoo import api, models

from ..translations import translate_seeded


class IrModuleModule(models.Model):
    _inherit = "ir.module.module"

    @api.model
    def _load_module_terms(self, modules, langs, overwrite=False, imported_module=False):
        """Installing a language loads the add-on's catalogue: the records
        it seeded in code (tiers, policies, care dates, the points program
        and its reward) get that language too, as if it had been there at
        install, unless the user renamed them; with ``overwrite``, the
        catalogue also replaces the translations they have."""
        result = super()._load_module_terms(modules, langs, overwrite=overwrite, imported_module=imported_module)
        if "customer_tiering" in modules and "customer.tier" in self.env:
            translate_seeded(self.env, langs, overwrite=overwrite)
        return result
