from odoo import fields, models


class SurveyUserInput(models.Model):
    _inherit = "survey.user_input"

    satisfaction_policy_id = fields.Many2one(
        "customer.satisfaction.policy",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The satisfaction policy that invited the customer: its company gets the scores.",
    )

    def _mark_done(self):
        """A completed answer to a satisfaction survey becomes the answering
        customer's NPS and CSAT."""
        result = super()._mark_done()
        self._record_satisfaction()
        return result

    def _record_satisfaction(self):
        """Give the commercial entity of each answer to a satisfaction survey
        its scores, in the company of the policy that invited it or, for an
        answer without an invitation, in each company whose active policy
        uses the survey and may see the customer."""
        Policy = self.env["customer.satisfaction.policy"].sudo()
        answers = self.filtered(lambda answer: answer.partner_id and not answer.test_entry)
        if not answers:
            return
        policies = Policy.search([("survey_id", "in", answers.survey_id.ids)])
        for answer in answers:
            entity = answer.partner_id.commercial_partner_id
            companies = answer.satisfaction_policy_id.company_id or policies.filtered(
                lambda policy, survey=answer.survey_id: policy.survey_id == survey
            ).company_id.filtered(lambda company, entity=entity: entity.company_id in (company, company.browse()))
            if not companies:
                continue
            nps, csat = answer._satisfaction_scores()
            if nps is None and csat is None:
                continue
            day = fields.Date.context_today(answer, answer.end_datetime or fields.Datetime.now())
            for company in companies:
                entity._record_satisfaction(company, nps, csat, day)

    def _satisfaction_scores(self):
        """(NPS, CSAT) of this answer: its value for the survey's 0-10 scale
        question and for its 1-5 one; None for a question skipped or absent."""
        self.ensure_one()
        nps_question, csat_question = self.env["customer.satisfaction.policy"]._score_questions(self.survey_id)
        values = {}
        for line in self.user_input_line_ids:
            if line.question_id in (nps_question | csat_question) and not line.skipped and line.answer_type == "scale":
                values[line.question_id] = line.value_scale
        return values.get(nps_question), values.get(csat_question) if csat_question else None
