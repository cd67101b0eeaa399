import functools
import logging
import subprocess

from odoo import models

from odoo.addons.base.models.ir_actions_report import _get_wkhtmltopdf_bin

_logger = logging.getLogger(__name__)

CUSTOMER_REVIEW = "customer_tiering.report_customer_review"


@functools.cache
def wkhtmltopdf_has_patched_qt():
    """Whether the wkhtmltopdf binary is the "with patched qt" build Odoo is made for.

    The build of Debian and Ubuntu packages is linked against an unpatched Qt: it ignores
    ``--header-html``/``--footer-html`` and exits with "does not support more than one input
    document" when given several, which is how Odoo prints several records in one call.
    Asked once per process: the binary does not change while the server runs.
    """
    try:
        completed = subprocess.run([_get_wkhtmltopdf_bin(), "--version"], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return is_patched_qt_version(completed.stdout.decode(errors="replace"))


def is_patched_qt_version(version_output):
    """``wkhtmltopdf --version`` reads "wkhtmltopdf 0.12.6.1 (with patched qt)" on the patched build."""
    return "patched qt" in version_output.lower()


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _render_qweb_pdf_prepare_streams(self, report_ref, data, res_ids=None):
        """Print several customers' reviews one customer per wkhtmltopdf call where the
        binary cannot take several documents; Odoo then merges the PDFs in order.
        Only this add-on's report: other reports keep Odoo's behaviour."""
        customers = self._customer_review_split(report_ref, res_ids)
        if not customers:
            return super()._render_qweb_pdf_prepare_streams(report_ref, data, res_ids=res_ids)
        _logger.info("wkhtmltopdf without patched Qt: printing %s customer reviews one by one", len(customers))
        streams = {}
        for customer_id in customers:
            streams.update(
                super()._render_qweb_pdf_prepare_streams(report_ref, dict(data or {}), res_ids=[customer_id])
            )
        return streams

    def _customer_review_split(self, report_ref, res_ids):
        """The customers to print one by one, or None to print the usual way.

        The review prints a contact's commercial entity, so contacts of one customer are
        printed once, like in a single rendering."""
        if not res_ids or len(set(res_ids)) < 2 or self._get_report(report_ref).report_name != CUSTOMER_REVIEW:
            return None
        if self.get_wkhtmltopdf_state() == "install" or wkhtmltopdf_has_patched_qt():
            return None
        return self.env["res.partner"].browse(res_ids).commercial_partner_id.ids
