import pandas as pd
from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.translate import LazyTranslate

from ..engine import segments as engine
from ..translations import translate_field

# Default segment names and playbooks are created in code, so they are translated lazily per language.
_lt = LazyTranslate(__name__)
# pylint: disable=prefer-env-translation

#: The standard segments, on the R x F grid of RFM practice: every
#: (R, F) cell in exactly one segment, whatever M (README, "RFM segments").
#: name, sequence, color, (r_min, r_max), (f_min, f_max), playbook.
DEFAULT_SEGMENTS = (
    (
        _lt("Champions"),
        10,
        10,
        (5, 5),
        (4, 5),
        _lt(
            "Bought recently, buy often. Reward them: early access to new products, tier perks and referral "
            "offers. They promote your brand."
        ),
    ),
    (
        _lt("Loyal"),
        20,
        7,
        (3, 4),
        (4, 5),
        _lt("Buy regularly. Offer higher-value products, ask them for reviews and keep in personal touch."),
    ),
    (
        _lt("Potential loyalist"),
        30,
        4,
        (4, 5),
        (2, 3),
        _lt("Recent customers who came back. Invite them to the points programme and recommend related products."),
    ),
    (
        _lt("New"),
        40,
        8,
        (5, 5),
        (1, 1),
        _lt("Bought for the first time lately. Welcome them, help with the first order and build the relationship."),
    ),
    (
        _lt("Promising"),
        50,
        11,
        (4, 4),
        (1, 1),
        _lt("Bought once, not long ago. Make the brand known to them and give a reason to order again."),
    ),
    (
        _lt("Need attention"),
        60,
        3,
        (3, 3),
        (3, 3),
        _lt("Average on recency and frequency. Make a limited-time offer based on what they bought before."),
    ),
    (
        _lt("About to sleep"),
        70,
        6,
        (3, 3),
        (1, 2),
        _lt("Buying less and less. Recommend popular products or a renewal at a discount, and reconnect."),
    ),
    (
        _lt("At risk"),
        80,
        2,
        (1, 2),
        (3, 4),
        _lt("Used to buy often, not lately. Call them, send a personal win-back offer or coupon."),
    ),
    (
        _lt("Can't lose them"),
        90,
        9,
        (1, 2),
        (5, 5),
        _lt(
            "Were among the most frequent buyers, silent for long. Have their salesperson call them: win them "
            "back before a competitor does."
        ),
    ),
    (
        _lt("Hibernating"),
        100,
        5,
        (2, 2),
        (1, 2),
        _lt("Bought little, long ago. Offer relevant products and special discounts, at low cost."),
    ),
    (
        _lt("Lost"),
        110,
        1,
        (1, 1),
        (1, 2),
        _lt("Bought little, longest ago. Try one reach-out campaign; otherwise spend no effort."),
    ),
)

#: What places customers in segments: a change re-segments everyone.
SEGMENTING_FIELDS = (*engine.BOUND_COLUMNS, "active", "company_id")


def _playbook(text):
    """A playbook's HTML, from its plain text in the language ``text`` is in."""
    return Markup("<p>%s</p>") % text


class CustomerRfmSegment(models.Model):
    """A named box of R, F and M scores (Champions, At risk...), with what to
    do with its customers. The nightly job places each customer in the
    segment of its scores."""

    _name = "customer.rfm.segment"
    _description = "RFM Segment"
    _order = "company_id, sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one("res.company", required=True, index=True, default=lambda self: self.env.company)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    r_min = fields.Integer(string="Recency from", default=1, help="Lowest recency score (1 to 5) of the segment.")
    r_max = fields.Integer(string="Recency to", default=5, help="Highest recency score (1 to 5) of the segment.")
    f_min = fields.Integer(string="Frequency from", default=1, help="Lowest frequency score (1 to 5) of the segment.")
    f_max = fields.Integer(string="Frequency to", default=5, help="Highest frequency score (1 to 5) of the segment.")
    m_min = fields.Integer(string="Monetary from", default=1, help="Lowest monetary score (1 to 5) of the segment.")
    m_max = fields.Integer(string="Monetary to", default=5, help="Highest monetary score (1 to 5) of the segment.")
    playbook = fields.Html(
        translate=True,
        sanitize_style=True,
        help="What to do with this segment's customers, shown on their Tiering tab.",
    )
    partner_count = fields.Integer(string="Customers", compute="_compute_partner_count")

    @api.depends_context("company")
    def _compute_partner_count(self):
        counts = dict(
            self.env["res.partner"]._read_group(
                [("rfm_segment_id", "in", self.ids), ("is_tiering_entity", "=", True)],
                ["rfm_segment_id"],
                ["__count"],
            )
        )
        for segment in self:
            segment.partner_count = counts.get(segment, 0)

    @api.model_create_multi
    def create(self, vals_list):
        segments = super().create(vals_list)
        segments._request_full_run()
        return segments

    def write(self, vals):
        companies = self.company_id
        result = super().write(vals)
        if vals.keys() & set(SEGMENTING_FIELDS):
            self._request_full_run(companies)
        return result

    def unlink(self):
        companies = self.company_id
        result = super().unlink()
        self.browse()._request_full_run(companies)
        return result

    def _request_full_run(self, companies=None):
        """Segments changed: the next run places every customer of their
        companies (``companies`` too: those a segment left) again."""
        companies = self.company_id | (companies or self.env["res.company"])
        configs = self.env["customer.tiering.config"].sudo().search([("company_id", "in", companies.ids)])
        configs.write({"last_full_run": False})

    # ---------------------------------------------------------- constraints

    @api.constrains(*SEGMENTING_FIELDS)
    def _check_ranges(self):
        """Scores run from 1 to 5, a range's lowest is not above its highest,
        and no customer can be in two active segments of a company."""
        frame = self._box_frame(self)
        if bad := self.browse(engine.out_of_range(frame)):
            raise ValidationError(
                self.env._(
                    "The R, F and M ranges of a segment lie within 1 to 5, the scores' range: check %(segments)s.",
                    segments=", ".join(bad.mapped("display_name")),
                )
            )
        if bad := self.browse(engine.inverted(frame)):
            raise ValidationError(
                self.env._(
                    "A range's lowest score cannot be above its highest: check %(segments)s.",
                    segments=", ".join(bad.mapped("display_name")),
                )
            )
        self._check_overlaps()

    def _check_overlaps(self):
        every = self.sudo().search([("company_id", "in", self.company_id.ids)])
        for company_segments in every.grouped("company_id").values():
            pairs = [pair for pair in engine.overlaps(self._box_frame(company_segments)) if {*pair[:2]} & {*self.ids}]
            if pairs:
                first, second, (r, f, m) = pairs[0]
                raise ValidationError(
                    self.env._(
                        "The segments %(first)s and %(second)s overlap: a customer scoring R %(r)s, F %(f)s and "
                        "M %(m)s would be in both. Narrow one segment's ranges before widening the other's.",
                        first=self.browse(first).sudo().display_name,
                        second=self.browse(second).sudo().display_name,
                        r=r,
                        f=f,
                        m=m,
                    )
                )

    @api.model
    def _box_frame(self, segments):
        """``segments`` as the engine takes them: id and the six bounds, in their order."""
        return pd.DataFrame(
            {"id": segments.ids, **{column: segments.mapped(column) for column in engine.BOUND_COLUMNS}},
            columns=["id", *engine.BOUND_COLUMNS],
        )

    # ------------------------------------------------------------- defaults

    @api.model
    def _create_defaults(self, companies):
        """The standard segments, named in every installed language, for
        each company that has no segment yet."""
        with_segments = self.with_context(active_test=False).search([("company_id", "in", companies.ids)]).company_id
        missing = companies - with_segments
        segments = self.create(
            [
                {
                    "company_id": company.id,
                    "name": name._translate("en_US"),
                    "sequence": sequence,
                    "color": color,
                    "r_min": r_min,
                    "r_max": r_max,
                    "f_min": f_min,
                    "f_max": f_max,
                    "m_min": engine.LOWEST,
                    "m_max": engine.HIGHEST,
                    "playbook": _playbook(playbook._translate("en_US")),
                }
                for company in missing
                for name, sequence, color, (r_min, r_max), (f_min, f_max), playbook in DEFAULT_SEGMENTS
            ]
        )
        defaults = [default for _company in missing for default in DEFAULT_SEGMENTS]
        translate_field(self.env, segments, "name", [name for name, *_rest in defaults])
        translate_field(self.env, segments, "playbook", [_PlaybookText(default[-1]) for default in defaults])
        return segments

    @api.model
    def _default_texts(self, langs):
        """``(english, {lang: translation})`` of the default names and of
        the default playbooks, for ``translations.translate_untouched``."""
        names = [name for name, *_rest in DEFAULT_SEGMENTS]
        playbooks = [
            (_playbook(text._translate("en_US")), {lang: _PlaybookText(text)._translate(lang) for lang in langs})
            for *_rest, text in DEFAULT_SEGMENTS
        ]
        return names, playbooks

    def _customers(self):
        """The commercial entities in this segment, in its company."""
        self.ensure_one()
        Partner = self.env["res.partner"].with_company(self.company_id)
        return Partner.search([("rfm_segment_id", "=", self.id), ("is_tiering_entity", "=", True)])

    def action_generate_coupons(self):
        """Odoo's coupon generation for the segment's customers."""
        return self._customers().action_generate_coupons()

    @api.readonly  # only reads: may run on a read-only replica
    def action_view_partners(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("customer_tiering.res_partner_action_tiering")
        action["domain"] = [("rfm_segment_id", "=", self.id), ("is_tiering_entity", "=", True)]
        action["context"] = {}
        return action


class _PlaybookText:
    """A lazy playbook text, translated as the playbook's HTML field takes
    translations: term by term (``html_translate``), {English term: term}."""

    def __init__(self, text):
        self.text = text

    def _translate(self, lang):
        return {self.text._translate("en_US"): self.text._translate(lang)}
