import logging
import threading

import pandas as pd
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL

from ..engine import tiering

_logger = logging.getLogger(__name__)

CHUNK_SIZE = 10000

#: Per-company values the job stores on res.partner, with their SQL types.
STORED_COLUMNS = {
    "tier_id": "int4",
    "tier_since": "date",
    "tier_demotion_since": "date",
    "purchase_count": "int4",
    "first_purchase_date": "date",
    "last_purchase_date": "date",
    "revenue_total": "float8",
    "revenue_window": "float8",
    "avg_order_value": "float8",
    "rfm_r": "int4",
    "rfm_f": "int4",
    "rfm_m": "int4",
}
PRIOR_COLUMNS = {**STORED_COLUMNS, "tier_locked": "bool", "tier_lock_until": "date"}
DATE_COLUMNS = [name for name, sql_type in PRIOR_COLUMNS.items() if sql_type == "date"]


def _chunks(frame, size=CHUNK_SIZE):
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def _sql_values(series, sql_type):
    """A column as a list psycopg2 can bind: Python scalars, None for missing."""
    if sql_type == "date":
        return [None if pd.isna(value) else value.date() for value in series]
    cast = {"int4": int, "float8": float, "bool": bool}[sql_type]
    return [None if pd.isna(value) else cast(value) for value in series]


class CustomerTieringJob(models.AbstractModel):
    """The nightly reclassification: one grouped query per company, vectorised
    scoring, and chunked raw writes of the customers whose values changed."""

    _name = "customer.tiering.job"
    _description = "Customer Tiering Job"

    @api.model
    def _cron_reclassify(self):
        self._reclassify(self.env["res.company"].search([]))

    @api.model
    def _reclassify(self, companies):
        configs = self.env["customer.tiering.config"]._for_companies(companies)
        for config in configs:
            self.with_company(config.company_id)._reclassify_company(config)

    def _reclassify_company(self, config):
        company = config.company_id
        today = fields.Date.context_today(self)
        sales = self._read_sales(company, today - relativedelta(months=config.window_months), today)
        prior = self._read_prior(company)
        tiers = self._read_tiers(company)
        result = tiering.score(sales, prior, tiers, config._settings(), today)
        changed = result[tiering.changed_mask(result, prior, STORED_COLUMNS)]
        _logger.info("Customer tiering for %s: %d customers, %d changed", company.name, len(result), len(changed))
        self._write_changes(company, changed, prior)
        config.sudo().last_run = fields.Datetime.now()

    # ------------------------------------------------------------------ reads

    def _read_sales(self, company, window_start, today):
        """Net untaxed company-currency sales per commercial partner."""
        self.env["account.move"].flush_model(
            ["commercial_partner_id", "company_id", "state", "move_type", "invoice_date", "amount_untaxed_signed"]
        )
        query = SQL(
            """
            SELECT m.commercial_partner_id AS partner_id,
                   COUNT(*) FILTER (WHERE m.move_type = 'out_invoice') AS purchase_count,
                   MIN(m.invoice_date) FILTER (WHERE m.move_type = 'out_invoice') AS first_purchase_date,
                   MAX(m.invoice_date) FILTER (WHERE m.move_type = 'out_invoice') AS last_purchase_date,
                   SUM(m.amount_untaxed_signed)::float8 AS revenue_total,
                   COALESCE(SUM(m.amount_untaxed_signed) FILTER (WHERE m.invoice_date > %(start)s), 0)::float8
                       AS revenue_window
              FROM account_move m
             WHERE m.company_id = %(company)s
               AND m.state = 'posted'
               AND m.move_type IN ('out_invoice', 'out_refund')
               AND m.commercial_partner_id IS NOT NULL
               AND m.invoice_date <= %(today)s
          GROUP BY m.commercial_partner_id
            """,
            company=company.id,
            start=window_start,
            today=today,
        )
        return self._frame(
            query, ["purchase_count", "first_purchase_date", "last_purchase_date", "revenue_total", "revenue_window"]
        )

    def _read_prior(self, company):
        """What is stored for the company's customers that have any value."""
        self.env["res.partner"].flush_model(list(PRIOR_COLUMNS))
        key = str(company.id)
        columns = SQL(", ").join(
            SQL("(p.%s->%s->>0)::%s", SQL.identifier(name), key, SQL(sql_type))
            for name, sql_type in PRIOR_COLUMNS.items()
        )
        query = SQL(
            """
            SELECT p.id, %(columns)s
              FROM res_partner p
             WHERE p.id = p.commercial_partner_id
               AND (p.tier_id ? %(key)s OR p.purchase_count ? %(key)s OR p.tier_locked ? %(key)s)
            """,
            columns=columns,
            key=key,
        )
        prior = self._frame(query, list(PRIOR_COLUMNS))
        prior["tier_id"] = prior["tier_id"].astype("Int64")
        return prior

    def _read_tiers(self, company):
        tiers = self.env["customer.tier"].search([("company_id", "=", company.id)], order="sequence, id")
        return pd.DataFrame(
            {
                "id": tiers.ids,
                "min_revenue": tiers.mapped("min_revenue"),
                "min_rfm_score": tiers.mapped("min_rfm_score"),
            }
        )

    def _frame(self, query, columns):
        self.env.cr.execute(query)
        frame = pd.DataFrame.from_records(self.env.cr.fetchall(), columns=["partner_id", *columns])
        frame = frame.set_index("partner_id")
        for column in set(columns) & set(DATE_COLUMNS):
            frame[column] = pd.to_datetime(frame[column])
        return frame

    # ----------------------------------------------------------------- writes

    def _write_changes(self, company, changed, prior):
        """Store ``changed`` chunk by chunk, each chunk with its tier history,
        so that an interrupted run leaves no tier without its history row."""
        testing = getattr(threading.current_thread(), "testing", False)
        cron = self.env["ir.cron"]
        done = 0
        for chunk in _chunks(changed):
            self._update_partners(company, chunk)
            self._unlock_expired(company, chunk[chunk["unlock"]])
            self._log_tier_changes(company, chunk, prior)
            done += len(chunk)
            cron._notify_progress(done=done, remaining=len(changed) - done)
            if not testing:
                self.env.cr.commit()
        self.env["res.partner"].invalidate_model(
            [*STORED_COLUMNS, "tier_locked", "tier_lock_until", "tier_lock_reason"]
        )

    def _update_partners(self, company, chunk):
        """One UPDATE per chunk; child contacts get their entity's values."""
        key = str(company.id)
        names = list(STORED_COLUMNS)
        assignments = SQL(", ").join(
            SQL(
                "%s = COALESCE(p.%s, '{}'::jsonb) || jsonb_build_object(%s, v.%s)",
                SQL.identifier(name),
                SQL.identifier(name),
                key,
                SQL.identifier(name),
            )
            for name in names
        )
        arrays = SQL(", ").join(
            SQL("%s::%s[]", _sql_values(chunk[name], sql_type), SQL(sql_type))
            for name, sql_type in STORED_COLUMNS.items()
        )
        self.env.cr.execute(
            SQL(
                """
            UPDATE res_partner p
               SET %(assignments)s, write_uid = %(uid)s, write_date = (now() at time zone 'UTC')
              FROM unnest(%(ids)s::int4[], %(arrays)s) AS v(id, %(names)s)
             WHERE p.commercial_partner_id = v.id
            """,
                assignments=assignments,
                uid=self.env.uid,
                ids=chunk.index.tolist(),
                arrays=arrays,
                names=SQL(", ").join(SQL.identifier(name) for name in names),
            )
        )

    def _unlock_expired(self, company, expired):
        if expired.empty:
            return
        key = str(company.id)
        self.env.cr.execute(
            SQL(
                """
            UPDATE res_partner p
               SET tier_locked = COALESCE(p.tier_locked, '{}'::jsonb) || jsonb_build_object(%(key)s, false),
                   tier_lock_until = COALESCE(p.tier_lock_until, '{}'::jsonb) || jsonb_build_object(%(key)s, NULL)
             WHERE p.commercial_partner_id = ANY(%(ids)s)
            """,
                key=key,
                ids=expired.index.tolist(),
            )
        )

    def _log_tier_changes(self, company, chunk, prior):
        """History rows and chatter tracking for the customers whose tier moved."""
        old = prior["tier_id"].reindex(chunk.index)
        moved = chunk["tier_id"].ne(old).fillna(chunk["tier_id"].notna() | old.notna()).astype(bool)
        if not moved.any():
            return
        partner_ids = chunk.index[moved].tolist()
        old_ids = _sql_values(old[moved], "int4")
        new_ids = _sql_values(chunk.loc[moved, "tier_id"], "int4")
        reasons = chunk.loc[moved, "reason"].tolist()
        self.env["customer.tier.history"].sudo()._log_bulk(company, partner_ids, old_ids, new_ids, reasons)
        self.env["res.partner"].sudo()._track_tier_bulk(partner_ids, old_ids, new_ids)
