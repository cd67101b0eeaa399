import io
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


#: The staging table a chunk is copied into: stored values plus what the logs need.
STAGE_COLUMNS = {
    "id": "int4",
    **STORED_COLUMNS,
    "old_tier_id": "int4",
    "reason": "varchar",
    "unlock": "bool",
    "moved": "bool",
}


def _chunks(frame, size=CHUNK_SIZE):
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def _staging_frame(changed, prior):
    """``changed`` in the staging table's column order, with the old tier and
    whether the tier moved."""
    old = prior["tier_id"].reindex(changed.index).astype("Int64")
    new = changed["tier_id"].astype("Int64")
    moved = new.ne(old).fillna(new.notna() | old.notna()).astype(bool)
    staged = changed.assign(old_tier_id=old, moved=moved)
    staged.index.name = "id"
    return staged[[name for name in STAGE_COLUMNS if name != "id"]]


class CustomerTieringJob(models.AbstractModel):
    """The nightly reclassification: one grouped query per company, vectorised
    scoring, and chunked raw writes of the customers whose values changed."""

    _name = "customer.tiering.job"
    _description = "Customer Tiering Job"

    @api.model
    def _cron_reclassify(self):
        self._reclassify(self.env["res.company"].search([]))  # pylint: disable=no-search-all

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
        tiers = self._tier_frame(config._active_tiers())
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

    def _tier_frame(self, tiers):
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
        staged = _staging_frame(changed, prior)
        done = 0
        for chunk in _chunks(staged):
            self._stage(chunk)
            self._update_partners(company)
            self._unlock_expired(company)
            self._log_tier_changes(company)
            done += len(chunk)
            cron._notify_progress(done=done, remaining=len(staged) - done)
            if not testing:
                # Each chunk is consistent on its own (tiers with their history):
                # committing bounds the lock time and the work lost to a crash.
                self.env.cr.commit()  # pylint: disable=invalid-commit
        self.env["res.partner"].invalidate_model([*STORED_COLUMNS, "tier_locked", "tier_lock_until"])

    def _stage(self, chunk):
        """Load a chunk into a temporary table with COPY: one round trip, and
        no per-value conversion in Python."""
        columns = SQL(", ").join(
            SQL("%s %s", SQL.identifier(name), SQL(sql_type)) for name, sql_type in STAGE_COLUMNS.items()
        )
        self.env.cr.execute(SQL("DROP TABLE IF EXISTS customer_tiering_stage"))
        self.env.cr.execute(SQL("CREATE TEMPORARY TABLE customer_tiering_stage (%s) ON COMMIT DROP", columns))
        buffer = io.StringIO()
        chunk.to_csv(buffer, header=False, date_format="%Y-%m-%d")
        buffer.seek(0)
        self.env.cr._obj.copy_expert("COPY customer_tiering_stage FROM STDIN WITH (FORMAT csv)", buffer)

    def _update_partners(self, company):
        """One UPDATE per chunk; child contacts get their entity's values."""
        key = str(company.id)
        assignments = SQL(", ").join(
            SQL(
                "%s = COALESCE(p.%s, '{}'::jsonb) || jsonb_build_object(%s, s.%s)",
                *[SQL.identifier(name)] * 2,
                key,
                SQL.identifier(name),
            )
            for name in STORED_COLUMNS
        )
        self.env.cr.execute(
            SQL(
                """
            UPDATE res_partner p
               SET %(assignments)s, write_uid = %(uid)s, write_date = (now() AT TIME ZONE 'UTC')
              FROM customer_tiering_stage s
             WHERE p.commercial_partner_id = s.id
            """,
                assignments=assignments,
                uid=self.env.uid,
            )
        )

    def _unlock_expired(self, company):
        key = str(company.id)
        self.env.cr.execute(
            SQL(
                """
            UPDATE res_partner p
               SET tier_locked = COALESCE(p.tier_locked, '{}'::jsonb) || jsonb_build_object(%(key)s, false),
                   tier_lock_until = COALESCE(p.tier_lock_until, '{}'::jsonb) || jsonb_build_object(%(key)s, NULL)
              FROM customer_tiering_stage s
             WHERE p.commercial_partner_id = s.id AND s.unlock
            """,
                key=key,
            )
        )

    def _log_tier_changes(self, company):
        """History rows for the customers whose tier moved, and for those that
        move from one tier to another the chatter tracking the ORM would have
        logged. A first classification is in the history only: on install it
        would otherwise post one message per customer at once."""
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO customer_tier_history (partner_id, company_id, old_tier_id, new_tier_id, date, reason,
                                               create_uid, create_date)
            SELECT s.id, %(company)s, s.old_tier_id, s.tier_id, %(now)s, s.reason, %(uid)s, %(now)s
              FROM customer_tiering_stage s
             WHERE s.moved
            """,
                company=company.id,
                now=now,
                uid=self.env.uid,
            )
        )
        lang = self.env.lang or "en_US"
        self.env.cr.execute(
            SQL(
                """
            WITH message AS (
                INSERT INTO mail_message (model, res_id, message_type, subtype_id, author_id, date, body,
                                          create_uid, create_date)
                SELECT 'res.partner', s.id, 'notification', %(subtype)s, %(author)s, %(now)s, '', %(uid)s, %(now)s
                  FROM customer_tiering_stage s
                 WHERE s.moved AND s.old_tier_id IS NOT NULL
             RETURNING id, res_id
            )
            INSERT INTO mail_tracking_value (field_id, mail_message_id, old_value_integer, old_value_char,
                                             new_value_integer, new_value_char, create_uid, create_date)
            SELECT %(field)s, message.id, s.old_tier_id, COALESCE(old.name->>%(lang)s, old.name->>'en_US', ''),
                   s.tier_id, COALESCE(new.name->>%(lang)s, new.name->>'en_US', ''), %(uid)s, %(now)s
              FROM message
              JOIN customer_tiering_stage s ON s.id = message.res_id
         LEFT JOIN customer_tier old ON old.id = s.old_tier_id
         LEFT JOIN customer_tier new ON new.id = s.tier_id
            """,
                subtype=self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_note"),
                author=self.env.user.partner_id.id,
                field=self.env["ir.model.fields"]._get("res.partner", "tier_id").id,
                lang=lang,
                now=now,
                uid=self.env.uid,
            )
        )
