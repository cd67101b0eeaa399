import io
import logging
from bisect import bisect_left
from dataclasses import asdict
from datetime import timedelta
from itertools import pairwise

import pandas as pd
from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.tools import SQL, split_every

from .. import automation
from ..engine import btyd, frames, lifecycle, segments, tiering
from ..engine.frames import differs
from ..sql import company_partner, company_value, set_company_value

_logger = logging.getLogger(__name__)

CHUNK_SIZE = 10000
#: Customers whose tier resources are applied per committed batch: at most
#: one batch of suggestion activities each.
RESOURCES_BATCH = 1000
#: Partner id ranges the sales read is split into, for parallel workers: a
#: multiple of the two workers and the leader, which read them.
SALES_SLICES = 6

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
    "rfm_r": "int4",
    "rfm_f": "int4",
    "rfm_m": "int4",
    "rfm_segment_id": "int4",
    "lifecycle_stage": "varchar",
    "lifecycle_stage_since": "date",
    "p_alive": "float8",
    "churn_risk": "float8",
    "churn_risk_level": "varchar",
    "expected_purchases_90d": "float8",
    "clv_predicted": "float8",
    "value_at_risk": "float8",
}
#: Per-company days the job stores in customer.tiering.schedule: {partner field: its column there}.
SCHEDULE_COLUMNS = {"dormancy_date": "dormancy_date", "tiering_review_date": "review_date"}
#: Scores that move a little every day as customers age: stored again only
#: once they moved by more than this share (absolute below 1), so that a
#: nightly run writes the customers whose situation changed, not everyone.
DRIFT = dict.fromkeys(("p_alive", "churn_risk", "expected_purchases_90d", "clv_predicted", "value_at_risk"), 0.01)
SCHEDULE_TYPES = dict.fromkeys(SCHEDULE_COLUMNS, "date")
PRIOR_COLUMNS = {**STORED_COLUMNS, **SCHEDULE_TYPES, "tier_locked": "bool", "tier_lock_until": "date"}
PARTNER_PRIOR_COLUMNS = [name for name in PRIOR_COLUMNS if name not in SCHEDULE_COLUMNS]
#: What ``_read_sales`` reads of each customer.
SALES_COLUMNS = [
    "purchase_count",
    "first_purchase_date",
    "last_purchase_date",
    "revenue_total",
    "revenue_window",
    "purchase_days",
    "first_day_value",
    "window_first_date",
]
DATE_COLUMNS = [*(name for name, sql_type in PRIOR_COLUMNS.items() if sql_type == "date"), "window_first_date"]


#: Numeric columns of the sales aggregate, typed even when a company has none.
SALES_TYPES = {
    "purchase_count": "int64",
    "revenue_total": "float64",
    "revenue_window": "float64",
    "purchase_days": "int64",
    "first_day_value": "float64",
}


def _append(frame, rows):
    """``frame`` and ``rows`` in one frame, keeping the dtypes when either is empty."""
    return pd.concat([frame, rows]) if len(frame) and len(rows) else rows if len(rows) else frame


def _btyd_summary(buyers, today):
    """x, t_x and T in days, mean net spend of the repeat purchase days (m)
    and of all purchase days (spend), for the BTYD models."""
    x = buyers["purchase_days"] - 1
    return pd.DataFrame(
        {
            "x": x,
            "t_x": (buyers["last_purchase_date"] - buyers["first_purchase_date"]).dt.days,
            "T": (pd.Timestamp(today) - buyers["first_purchase_date"]).dt.days,
            "m": (buyers["revenue_total"] - buyers["first_day_value"]) / x.clip(lower=1),
            "spend": buyers["revenue_total"] / buyers["purchase_days"],
        },
        index=buyers.index,
    )


#: The staging table a chunk is copied into: stored values plus what the logs
#: need, and which of the partner and its schedule changed.
STAGE_COLUMNS = {
    "id": "int4",
    **STORED_COLUMNS,
    **SCHEDULE_TYPES,
    "old_tier_id": "int4",
    "old_rfm_segment_id": "int4",
    "old_lifecycle_stage": "varchar",
    "old_churn_risk_level": "varchar",
    "reason": "varchar",
    "unlock": "bool",
    "moved": "bool",
    "partner_changed": "bool",
    "schedule_changed": "bool",
    "old_state": "int4",
}


def _only(column, ids):
    """``AND column = ANY(ids)``, or nothing when every customer counts."""
    return SQL("AND %s = ANY(%s)", column, ids) if ids is not None else SQL()


def _current_entities(ids, moved):
    """The customers ``ids`` an incremental run recomputes, a re-parented
    customer's former entity replaced by its current one (``moved``)."""
    return sorted({moved.get(partner_id, partner_id) for partner_id in ids})


def _tiering_state(partner, company):
    """A hash of what a manager sets on the ``res_partner`` row ``partner``
    (an alias) in ``company``: its tier and lock. The run writes a customer
    it read only while it hashes to what it read: a number reads and stages
    faster than the text, for a million customers."""
    values = [company_value(partner, name, company) for name in ("tier_id", "tier_locked", "tier_lock_until")]
    return SQL("hashtext(concat_ws('|', %s, %s, %s))", *values)


def _reference_state(result, settings, fit):
    """What incremental runs score by until the next full run, as JSON."""
    reference = tiering.reference(result, settings)
    return {"tiering": asdict(reference), "fit": fit and fit.to_state()}


def _split(ids, bounds):
    """The sorted ``ids`` in the runs that ``bounds`` separate, the empty ones left out."""
    cuts = [0, *(bisect_left(ids, bound) for bound in bounds), len(ids)]
    return [ids[start:end] for start, end in pairwise(cuts) if end > start]


def _tracked_ids(chunk):
    """The ids of the chunk's entities whose tier, stage or risk level the chunk changes."""
    mask = (
        chunk["moved"]
        | differs(chunk["lifecycle_stage"], chunk["old_lifecycle_stage"])
        | differs(chunk["churn_risk_level"], chunk["old_churn_risk_level"])
    )
    return chunk.index[mask & chunk["partner_changed"]].tolist()


def _chunks(frame, size):
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def _staging_frame(changed, prior):
    """``changed`` in the staging table's column order, with the old tier and
    whether the tier moved."""
    old = prior["tier_id"].reindex(changed.index).astype("Int64")
    new = changed["tier_id"].astype("Int64")
    staged = changed.assign(
        old_tier_id=old,
        old_rfm_segment_id=prior["rfm_segment_id"].reindex(changed.index).astype("Int64"),
        old_lifecycle_stage=prior["lifecycle_stage"].reindex(changed.index),
        old_churn_risk_level=prior["churn_risk_level"].reindex(changed.index),
        moved=differs(new, old),
        old_state=prior["tiering_state"].reindex(changed.index).astype("Int64"),
    )
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
    def _reclassify(self, companies, full=False):
        """Reclassify each company that no other run is reclassifying, each on
        its own (``customer.tiering.lock._run_companies``); returns those
        done. The nightly run is incremental unless ``full`` or a full run
        is due (see ``customer.tiering.config._full_run_due``)."""
        return self.env["customer.tiering.lock"]._run_companies(
            "reclassify",
            self.env["customer.tiering.config"]._for_companies(companies),
            lambda config: self.with_company(config.company_id)._reclassify_company(config, full),
        )

    def _reclassify_company(self, config, full=False):
        company = config.company_id
        today = fields.Date.context_today(self)
        since = self._oldest_transaction_start()
        reference = None if full or config._full_run_due(today) else config._incremental_reference()
        moved = self._reparented(company)
        affected = reference and self._affected(company, config, today)
        ids = reference and _current_entities(affected, moved)
        window_start = today - relativedelta(months=config.window_months)
        sales = self._read_sales(company, window_start, today, ids, moved)
        # A customer with sales is no prospect: only the others are looked at.
        prospects = self._read_prospects(company, ids and [pid for pid in ids if pid not in sales.index])
        sales = _append(sales.assign(prospect=False), prospects)
        prior = self._read_prior(company, ids)
        tiers = self._tier_frame(config._active_tiers())
        settings = config._settings()
        result = tiering.score(sales, prior, tiers, settings, today, reference and reference[0])
        result["rfm_segment_id"] = segments.assign(result, self._segment_frame(company))
        sales = sales.reindex(result.index)
        churn, fit = self._lifecycle(config, sales, prior, today, reference and reference[1])
        result = result.join(churn)
        result["dormancy_date"] = lifecycle.dormancy_dates(sales, config.dormancy_overdue_share)
        result["tiering_review_date"] = self._review_dates(config, settings, fit, result, sales, prior, today)
        result["partner_changed"] = tiering.changed_mask(result, prior, STORED_COLUMNS, DRIFT)
        result["schedule_changed"] = tiering.changed_mask(result, prior, SCHEDULE_COLUMNS)
        changed = result[result["partner_changed"] | result["schedule_changed"]]
        _logger.info(
            "Customer tiering for %s (%s): %d customers, %d changed",
            company.name,
            "incremental" if reference else "full",
            len(result),
            len(changed),
        )
        self._write_changes(company, changed, prior, self._tier_resources_apply(config))
        self._apply_tier_resources(config)
        # Retention by Cohort: the entities of the documents themselves, not
        # their current entities (the cohorts do not follow a re-parenting).
        self.env["customer.cohort.month"].sudo()._refresh(company, affected and [*affected, *ids])
        run = {"last_run": fields.Datetime.now(), "last_run_since": since}
        if not reference:
            run.update(last_full_run=run["last_run"], incremental_reference=_reference_state(result, settings, fit))
        if not config.tier_emails_since:
            # The first completed run classified everyone at once: its changes
            # email nobody. A company reclassified before this setting
            # existed has completed runs already: the changes after them do.
            run["tier_emails_since"] = config.last_run or run["last_run"]
        config.sudo().write(run)
        self.env["customer.notification.job"]._notify_tier_changes(config)

    def _review_dates(self, config, tier_settings, fit, result, sales, prior, today):
        """The next day on which time alone can change a customer's tier,
        stage or risk level, for the incremental runs: within the days to
        the next full run for P(alive) and the risk, whenever for the rest."""
        settings = config._stage_settings()
        window_exit = sales["window_first_date"] + pd.DateOffset(months=config.window_months)
        candidates = [
            tiering.review_dates(result, prior, window_exit, tier_settings),
            lifecycle.review_dates(sales, result, settings),
        ]
        buyers = sales[sales["purchase_days"] > 0]
        if fit and len(buyers):
            days = lifecycle.band_changes(
                fit, _btyd_summary(buyers, today), settings, config.churn_horizon_days, config.full_run_days
            )
            candidates.append(pd.Timestamp(today) + pd.to_timedelta(days, unit="D"))
        dates = pd.concat(candidates, axis=1).reindex(result.index)
        return dates.where(dates > pd.Timestamp(today)).min(axis=1)

    def _tier_resources_apply(self, config):
        """Whether the customers the job moves get their new tier's resources."""
        return config.tier_resources_mode != "off" and any(tier._resource_values() for tier in config._active_tiers())

    def _apply_tier_resources(self, config):
        """Customers the job moved from one tier to another get their new
        tier's resources, as the company's settings say. Locked tiers do not
        move, so they keep theirs. Each chunk marked the customers it moved
        (``_mark_tier_resources``), in its transaction: a run killed before
        this step leaves them for the next run. Each batch clears its marks
        with what it applies."""
        Schedule = self.env["customer.tiering.schedule"]
        Schedule.flush_model()
        pending = [
            partner_id
            for (partner_id,) in self.env.execute_query(
                SQL(
                    "SELECT partner_id FROM customer_tiering_schedule "
                    "WHERE company_id = %s AND tier_resources_pending ORDER BY partner_id",
                    config.company_id.id,
                )
            )
        ]
        Lock = self.env["customer.tiering.lock"]
        for batch in split_every(RESOURCES_BATCH, pending, list):
            Lock._run_batch(lambda batch=batch: self._apply_tier_resources_batch(config, batch))
        Schedule.invalidate_model(["tier_resources_pending"])

    def _apply_tier_resources_batch(self, config, partner_ids):
        self.env.execute_query(
            SQL(
                "UPDATE customer_tiering_schedule SET tier_resources_pending = NULL "
                "WHERE company_id = %s AND partner_id = ANY(%s)",
                config.company_id.id,
                partner_ids,
            )
        )
        if config.tier_resources_mode != "off":
            partners = self.env["res.partner"].with_company(config.company_id).browse(partner_ids).exists()
            partners._apply_tier_resources(config.tier_resources_mode)

    def _lifecycle(self, config, sales, prior, today, fit=None):
        """Churn, CLV and lifecycle stage of every customer who bought, and
        the fit they come from: ``fit``, or a new one, put on record."""
        buyers = sales[sales["purchase_days"] > 0]
        fit = fit or self._fit(config, buyers, today)
        scores = self._scores(config, fit, buyers, today).reindex(sales.index)
        churn = pd.DataFrame(
            {
                "p_alive": scores["p_alive"].round(4),
                "churn_risk": scores["churn_risk"].round(4),
                "expected_purchases_90d": scores["expected_purchases"].round(2),
                "clv_predicted": scores["clv_predicted"].round(0),
                "value_at_risk": (scores["clv_predicted"] * scores["churn_risk"]).round(0),
            },
            index=sales.index,
        )
        settings = config._stage_settings()
        # The level is relative to the customer's own rhythm, not to the churn horizon (docs/risk.md).
        silent_days = (pd.Timestamp(today) - sales["last_purchase_date"]).dt.days
        overdue = lifecycle.overdue(silent_days, scores["expected_interval"])
        churn["churn_risk_level"] = lifecycle.risk_levels(
            churn["p_alive"], pd.Series(overdue, index=sales.index), settings
        )
        stages = lifecycle.stages(sales.join(churn[["p_alive", "churn_risk_level"]]), prior, settings, today)
        return churn.join(stages), fit

    def _fit(self, config, buyers, today):
        if buyers.empty:
            return None
        prediction = btyd.predict(_btyd_summary(buyers, today), config._churn_settings())
        self._record_fit(config, prediction, len(buyers))
        return prediction

    def _scores(self, config, fit, buyers, today):
        if fit is None or buyers.empty:
            columns = ["p_alive", "churn_risk", "expected_purchases", "clv_predicted", "expected_interval"]
            return pd.DataFrame(columns=columns, dtype=float)
        if fit.scores is not None:
            return fit.scores
        return fit.score(_btyd_summary(buyers, today), config._churn_settings())

    def _record_fit(self, config, prediction, n_customers):
        values = {
            "company_id": config.company_id.id,
            "fit_date": fields.Datetime.now(),
            "method": prediction.method,
            "churn_horizon_days": config.churn_horizon_days,
            "n_customers": n_customers,
            "n_repeaters": prediction.n_repeaters,
            "converged": not prediction.fallback,
            "message": self._fit_message(config, prediction),
        }
        if count := prediction.count_model:
            values.update(r=count.r, alpha=count.alpha, a=count.a, b=count.b, log_likelihood=count.log_likelihood)
        if spend := prediction.spend_model:
            values.update(p=spend.p, q=spend.q, gamma=spend.gamma)
        self.env["customer.churn.model"].sudo().create(values)

    def _fit_message(self, config, prediction):
        if prediction.fallback == btyd.FALLBACK_FEW_REPEATERS:
            return self.env._(
                "Heuristic estimate: only %(count)s customers bought on two days or more; the models need %(minimum)s.",
                count=prediction.n_repeaters,
                minimum=config.churn_min_repeaters,
            )
        if prediction.fallback == btyd.FALLBACK_NOT_CONVERGED:
            return self.env._("Heuristic estimate: the model fit did not converge on this history.")
        return self.env._("Fitted on the company's own purchase history.")

    # ------------------------------------------------------------------ reads

    def _read_sales(self, company, window_start, today, ids=None, moved=None):
        """Net untaxed company-currency sales per commercial partner (of ``ids``
        only, when given), re-parented customers' under their current entity
        (``moved``: ``_reparented``, read when not given)."""
        self.env["customer.sale"]._flush_sources()
        slices = self._id_slices(SQL("s.commercial_partner_id"), SALES_SLICES, ids)
        query = SQL(" UNION ALL ").join(self._sales_query(company, window_start, today, only) for only in slices)
        sales = self._frame(query, SALES_COLUMNS)
        moved = self._reparented(company) if moved is None else moved
        return self._follow_reparented(company, window_start, today, sales, moved, ids)

    def _follow_reparented(self, company, window_start, today, sales, moved, ids=None):
        """``sales`` with the sales of re-parented customers under their
        current entity. A document keeps the entity its partner had when it
        was posted: after *Create company* on an individual buyer, their old
        invoices still name the individual, now a contact. The entities
        concerned are read again, each with the documents of all the
        partners it now stands for (of ``ids`` only, when given: the
        current entities, see ``_current_entities``)."""
        if ids is not None:
            moved = {old: new for old, new in moved.items() if new in ids}
        if not moved:
            return sales
        entities = sorted(set(moved.values()))
        old, new = zip(*moved.items(), strict=True)
        remap = SQL(
            "LEFT JOIN unnest(%s::int[], %s::int[]) AS moved(old, new) ON moved.old = s.commercial_partner_id",
            list(old),
            list(new),
        )
        entity = SQL("COALESCE(moved.new, s.commercial_partner_id)")
        only = _only(SQL("s.commercial_partner_id"), sorted(set(entities) | set(old)))
        again = self._frame(self._sales_query(company, window_start, today, only, entity, remap), SALES_COLUMNS)
        kept = sales.drop(index=[*old, *entities], errors="ignore")
        return _append(kept, again).sort_index()

    def _reparented(self, company):
        """{former entity: its current entity} of the partners that are no
        longer commercial entities, and still named by customer sales of
        the company. Only a contact (with a parent) is no entity: the
        parent index finds them without reading every partner."""
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        Sale = self.env["customer.sale"]
        Sale._flush_sources()
        rows = self.env.execute_query(
            Sale._per_source(
                lambda sales: SQL(
                    """
                    SELECT p.id, p.commercial_partner_id
                      FROM res_partner p
                     WHERE p.parent_id IS NOT NULL AND p.id <> p.commercial_partner_id
                       AND EXISTS (SELECT 1 FROM %s s WHERE s.commercial_partner_id = p.id AND s.company_id = %s)
                    """,
                    sales,
                    company.id,
                )
            )
        )
        return dict(rows)

    def _sales_query(self, company, window_start, today, only, entity=None, joins=None):
        """The sales per entity, ``s.commercial_partner_id`` or the SQL
        expression ``entity`` (over the extra ``joins``)."""
        return SQL(
            """
            SELECT partner_id,
                   SUM(invoices)::int4 AS purchase_count,
                   MIN(day) FILTER (WHERE invoices > 0) AS first_purchase_date,
                   MAX(day) FILTER (WHERE invoices > 0) AS last_purchase_date,
                   SUM(amount)::float8 AS revenue_total,
                   COALESCE(SUM(amount) FILTER (WHERE day > %(start)s), 0)::float8 AS revenue_window,
                   COUNT(*) FILTER (WHERE invoices > 0)::int4 AS purchase_days,
                   ((array_agg(amount ORDER BY day) FILTER (WHERE invoices > 0))[1])::float8 AS first_day_value,
                   MIN(day) FILTER (WHERE day > %(start)s) AS window_first_date
              FROM (%(daily)s) daily
          GROUP BY partner_id
            """,
            start=window_start,
            daily=self._daily_sales_query(company, today, only, entity, joins),
        )

    def _daily_sales_query(self, company, today, only, entity=None, joins=None):
        """Each entity's sales per day up to ``today`` (``only``: a further
        condition on the sales ``s``, ``customer.sale``): what every figure is
        computed from."""
        return SQL(
            """
            SELECT %(entity)s AS partner_id, s.date AS day,
                   SUM(s.amount) AS amount,
                   COUNT(*) FILTER (WHERE s.is_purchase) AS invoices
              FROM customer_sale s
              %(joins)s
             WHERE s.company_id = %(company)s
               AND s.date <= %(today)s
               %(only)s
          GROUP BY 1, s.date
            """,
            company=company.id,
            today=today,
            only=only,
            entity=entity or SQL("s.commercial_partner_id"),
            joins=joins or SQL(),
        )

    @api.model
    def _window_sales(self, company, entity, window_start, today):
        """[(day, amount)] of ``entity``'s sales in ``company`` after
        ``window_start``: what places it in a tier by revenue, per day."""
        self.env["customer.sale"]._flush_sources()
        only = SQL("AND s.commercial_partner_id = %s AND s.date > %s", entity.id, window_start)
        query = self._daily_sales_query(company, today, only)
        return [(day, amount) for _partner, day, amount, _count in self.env.execute_query(query)]

    def _id_slices(self, column, count, ids=None):
        """``count`` conditions splitting the partner ids (``ids`` only,
        when given) into ranges of about as many invoices each (even ranges
        of ids until PostgreSQL has statistics): the slices of a UNION ALL,
        which PostgreSQL reads in parallel workers (Parallel Append), each
        with its own grouping. Without ``ids``, the first and last ranges
        are open, so that whatever the bounds, the slices hold every id
        once."""
        bounds = self._invoice_quantiles(count) or self._even_bounds(count)
        if ids is not None:
            return [_only(column, part) for part in _split(sorted(ids), bounds)] or [_only(column, [])]
        edges = [None, *bounds, None]
        return [
            SQL(
                "%s %s",
                SQL("AND %s >= %s", column, start) if start is not None else SQL(),
                SQL("AND %s < %s", column, end) if end is not None else SQL(),
            )
            for start, end in pairwise(edges)
        ]

    def _invoice_quantiles(self, count):
        """The ``count - 1`` inner bounds of ``count`` ranges of commercial
        partners with as many customer documents each, from the planner's
        equal-frequency histogram of account_move, or nothing before the
        first ANALYZE. Customers with the most documents are missing from
        the histogram (they are its most common values): their slice is
        somewhat larger."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT histogram_bounds::text::int4[] FROM pg_stats
                 WHERE schemaname = current_schema() AND tablename = 'account_move'
                   AND attname = 'commercial_partner_id'
                """
            )
        )
        histogram = rows[0][0] if rows and rows[0][0] else []
        if len(histogram) < 2 * count:
            return []
        return sorted({histogram[len(histogram) * index // count] for index in range(1, count)})

    def _even_bounds(self, count):
        """The ``count - 1`` inner bounds of ``count`` equal ranges of partner ids."""
        low, high = self.env.execute_query(SQL("SELECT min(id), max(id) + 1 FROM res_partner"))[0]
        if low is None:
            return []
        return [low + (high - low) * index // count for index in range(1, count)]

    def _read_prospects(self, company, ids=None):
        """Commercial entities the company may see (its own or shared)
        without sales, that are its customers in the making: with a
        quotation or order of the company, or flagged as customers while
        buying from no other company (the flag is not per company: another
        company's sale raises it too). The candidates are found first, as
        before there were companies to tell apart: the other companies'
        orders and sales are looked up for those only."""
        self.env["sale.order"].flush_model(["partner_id", "company_id", "state"])
        self.env["res.partner"].flush_model(["company_id", "customer_rank", "commercial_partner_id", "active"])
        Sale = self.env["customer.sale"]
        Sale._flush_sources()
        query = SQL(
            """
            WITH ordered AS (
                SELECT c.commercial_partner_id AS id
                  FROM sale_order o JOIN res_partner c ON c.id = o.partner_id
                 WHERE o.company_id = %(company)s AND o.state != 'cancel'
            ), candidates AS MATERIALIZED (
                SELECT p.id, p.id IN (SELECT id FROM ordered) AS ordered
                  FROM res_partner p
                 WHERE p.id = p.commercial_partner_id
                   AND p.active
                   AND %(visible)s
                   AND (COALESCE(p.customer_rank, 0) > 0 OR p.id IN (SELECT id FROM ordered))
                   AND %(no_sale)s
                   %(only)s
            )
            SELECT c.id
              FROM candidates c
             WHERE c.ordered
                OR (NOT EXISTS (SELECT 1 FROM sale_order o
                                      JOIN res_partner oc ON oc.id = o.partner_id
                                     WHERE oc.commercial_partner_id = c.id AND o.company_id != %(company)s
                                       AND o.state != 'cancel')
                    AND %(no_other_sale)s)
            """,
            company=company.id,
            no_sale=Sale._no_sale(SQL("s.commercial_partner_id = p.id AND s.company_id = %s", company.id)),
            no_other_sale=Sale._no_sale(SQL("s.commercial_partner_id = c.id AND s.company_id != %s", company.id)),
            visible=company_partner("p", company),
            only=_only(SQL("p.id"), ids),
        )
        self.env.cr.execute(query)
        ids = pd.Index([row[0] for row in self.env.cr.fetchall()], name="partner_id")
        prospects = pd.DataFrame(0, index=ids, columns=list(SALES_TYPES)).astype(SALES_TYPES)
        return prospects.assign(
            first_purchase_date=pd.NaT, last_purchase_date=pd.NaT, window_first_date=pd.NaT, prospect=True
        )

    def _read_prior(self, company, ids=None):
        """What is stored for the company's customers (of ``ids`` only, when
        given) that have any value, with their schedules."""
        # commercial_partner_id too: the writes join on it.
        self.env["res.partner"].flush_model([*PARTNER_PRIOR_COLUMNS, "commercial_partner_id"])
        key = str(company.id)
        # The values' JSON text as it is, for pandas to parse: a cast to each
        # column's type and back to text doubles the query's time.
        columns = SQL(", ").join(company_value("p", name, company) for name in PARTNER_PRIOR_COLUMNS)
        query = SQL(
            """
            SELECT p.id, %(columns)s, %(state)s
              FROM res_partner p
             WHERE p.id = p.commercial_partner_id
               AND (p.tier_id ? %(key)s OR p.purchase_count ? %(key)s OR p.tier_locked ? %(key)s
                    OR p.lifecycle_stage ? %(key)s)
               %(only)s
            """,
            columns=columns,
            state=_tiering_state("p", company),
            key=key,
            only=_only(SQL("p.id"), ids),
        )
        prior = self._frame(query, [*PARTNER_PRIOR_COLUMNS, "tiering_state"])
        prior = prior.join(self._read_schedules(company, ids))
        prior["tier_id"] = prior["tier_id"].astype("Int64")
        prior["rfm_segment_id"] = prior["rfm_segment_id"].astype("Int64")
        return prior

    def _read_schedules(self, company, ids=None):
        """The stored days of customer.tiering.schedule, under their partner
        field names: read on their own, a join to a million partners would
        cost more than the read."""
        self.env["customer.tiering.schedule"].flush_model()
        columns = SQL(", ").join(
            SQL("%s AS %s", SQL.identifier(column), SQL.identifier(name)) for name, column in SCHEDULE_COLUMNS.items()
        )
        query = SQL(
            "SELECT partner_id, %s FROM customer_tiering_schedule WHERE company_id = %s %s",
            columns,
            company.id,
            _only(SQL("partner_id"), ids),
        )
        return self._frame(query, list(SCHEDULE_COLUMNS))

    def _oldest_transaction_start(self):
        """Where the next incremental run starts looking for changed
        documents: this run's start, or that of an older transaction still
        open, whose documents this run cannot see yet."""
        return self.env.execute_query(
            SQL(
                """
                SELECT LEAST(now(), min(xact_start)) AT TIME ZONE 'UTC'
                  FROM pg_stat_activity
                 WHERE datname = current_database()
                """
            )
        )[0][0]

    def _affected(self, company, config, today):
        """The customers an incremental run recomputes: those with sales
        documents (``customer.sale._changed_queries``: invoices, credit
        notes...) or orders written since the last run looked, and those
        due for a review (see ``_review_dates``) since the last run, which
        moved the earlier ones' reviews past its day."""
        Sale = self.env["customer.sale"]
        Sale._flush_sources()
        self.env["sale.order"].flush_model(["partner_id", "company_id"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["customer.tiering.schedule"].flush_model()
        changed = Sale._changed_queries(company.id, config.last_run_since).values()
        rows = self.env.execute_query(
            SQL(
                """
                %(changed)s
                 UNION
                SELECT c.commercial_partner_id FROM sale_order o JOIN res_partner c ON c.id = o.partner_id
                 WHERE o.write_date >= %(since)s AND o.company_id = %(company)s
                 UNION
                SELECT partner_id FROM customer_tiering_schedule
                 WHERE company_id = %(company)s AND review_date BETWEEN %(last_run)s AND %(today)s
                """,
                changed=SQL("\n UNION\n").join(changed),
                since=config.last_run_since,
                company=company.id,
                # The day before, for a lock set late in the evening of the last run, in another time zone.
                last_run=config.last_run.date() - timedelta(days=1),
                today=today,
            )
        )
        return [row[0] for row in rows]

    def _tier_frame(self, tiers):
        return pd.DataFrame(
            {
                "id": tiers.ids,
                "min_revenue": tiers.mapped("min_revenue"),
                "min_rfm_score": tiers.mapped("min_rfm_score"),
            }
        )

    def _segment_frame(self, company):
        """The company's active RFM segments, as ``engine.segments`` takes them."""
        Segment = self.env["customer.rfm.segment"].sudo()
        return Segment._box_frame(Segment.search([("company_id", "=", company.id)]))

    def _frame(self, query, columns):
        """``query``'s rows, indexed by partner: copied out as CSV for pandas'
        C parser, which reads large results faster than Python tuples from
        the cursor (docs/design.md)."""
        cursor = self.env.cr._obj
        buffer = io.StringIO()
        statement = cursor.mogrify(query.code, query.params).decode()
        cursor.copy_expert(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)", buffer)
        buffer.seek(0)
        frame = pd.read_csv(
            buffer,
            names=["partner_id", *columns],
            index_col="partner_id",
            true_values=["t", "true"],
            false_values=["f", "false"],
        )
        for column in set(columns) & set(DATE_COLUMNS):
            frame[column] = frames.dates(frame[column])  # an empty column too
        return frame.sort_index()  # parallel workers return their rows in any order

    # ----------------------------------------------------------------- writes

    def _write_changes(self, company, changed, prior, mark_resources=False):
        """Store ``changed`` chunk by chunk, each chunk with its tier history
        (and, with ``mark_resources``, the marks of the customers it moved
        whose new tier's resources are due), so that an interrupted run
        leaves no tier without its history row or its resources. After each
        committed chunk, ``res.partner._on_tiering_changed`` gets what it
        changed (``_call_tiering_hook``)."""
        Lock = self.env["customer.tiering.lock"]
        Lock._commit()  # the model fit, kept when a chunk is retried
        staged = _staging_frame(changed, prior)
        rules = automation.find_rules(self.env) if len(staged) else None
        done = 0
        for chunk in _chunks(staged, CHUNK_SIZE):
            written = {}  # what the last try of the chunk changed: a retried chunk starts again
            Lock._run_batch(
                lambda chunk=chunk, written=written: written.update(
                    changes=self._write_chunk(company, chunk, mark_resources, rules)
                )
            )
            self._call_tiering_hook(company, written["changes"])
            done += len(chunk)
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(staged) - done)
        self.env["res.partner"].invalidate_model([*STORED_COLUMNS, *SCHEDULE_COLUMNS, "tier_locked", "tier_lock_until"])
        self.env["customer.tiering.schedule"].invalidate_model()

    def _write_chunk(self, company, chunk, mark_resources=False, rules=None):
        """Write ``chunk``; returns what it changed, for ``_on_tiering_changed``
        (an ``automation.TieringChanges``). ``rules``: the run's automation
        rules (``automation.find_rules``), whose "before update" domains are
        evaluated here, on the values stored before the chunk's UPDATE."""
        pre = self._filter_pre(company, chunk, automation.pre_rules(rules)) if rules else {}
        self._stage(chunk)
        self._update_partners(company)
        self._update_schedules(company)
        self._unlock_expired(company)
        tier_history_ids, lifecycle_history_ids = self._log_history(company)
        self._log_segment_history(company)
        changes = automation.TieringChanges(
            company.id, self._tiering_changes(), tuple(tier_history_ids), tuple(lifecycle_history_ids), rules, pre
        )
        self._track_in_chatter()
        if mark_resources:
            self._mark_tier_resources(company)
        return changes

    def _filter_pre(self, company, chunk, rules):
        """{rule id: ids of the chunk's entities matching its "before update"
        domain}, for the partner ``rules`` that have one."""
        if not rules:
            return {}
        partners = self.env["res.partner"].with_company(company).browse(_tracked_ids(chunk))
        # The cache may hold values an earlier chunk replaced in SQL.
        partners.invalidate_recordset()
        return automation.filter_pre(partners, rules)

    def _tiering_changes(self):
        """``{partner_id: {field: (old, new)}}`` for the staged entities whose
        tier, stage or risk level the chunk changed, as the ORM reads them.
        ``_update_partners`` dropped the rows it left as they were."""
        rows = self.env.execute_query(
            SQL(
                """
                SELECT s.id, s.old_tier_id, s.tier_id, s.old_lifecycle_stage, s.lifecycle_stage,
                       s.old_churn_risk_level, s.churn_risk_level
                  FROM customer_tiering_stage s
                 WHERE s.partner_changed
                   AND (s.moved OR s.lifecycle_stage IS DISTINCT FROM s.old_lifecycle_stage
                        OR s.churn_risk_level IS DISTINCT FROM s.old_churn_risk_level)
                """
            )
        )
        changes = {}
        for partner_id, *values in rows:
            pairs = zip(automation.TRACKED_FIELDS, zip(values[::2], values[1::2], strict=True), strict=True)
            changes[partner_id] = {
                name: (old or False, new or False) for name, (old, new) in pairs if (old or False) != (new or False)
            }
        return changes

    def _call_tiering_hook(self, company, changes):
        """``res.partner._on_tiering_changed(changes)`` after the chunk's
        commit, in the company of the run, its work committed on its own. A
        failure there is logged and rolled back, and the run goes on: the
        chunk's values stay committed (at most once, see the hook)."""
        if not changes:
            return
        Partner = self.env["res.partner"].with_company(company)
        # The chunk wrote in SQL: the hook and the rules read the new values.
        Partner.invalidate_model([*STORED_COLUMNS, "tier_locked", "tier_lock_until"])
        try:
            with self.env.cr.savepoint():
                Partner._on_tiering_changed(changes)
        except Exception:
            self.env.invalidate_all()
            _logger.exception(
                "Customer tiering for %s: _on_tiering_changed failed for partners %s",
                company.name,
                sorted(changes.partners),
            )
        self.env["customer.tiering.lock"]._commit()

    def _mark_tier_resources(self, company):
        """Mark the chunk's customers moved from one tier to another: their
        new tier's resources are applied after the chunks (``_apply_tier_resources``)."""
        moved = SQL(
            "SELECT s.id, TRUE FROM customer_tiering_stage s "
            "WHERE s.moved AND s.old_tier_id IS NOT NULL AND s.tier_id IS NOT NULL"
        )
        self.env["customer.tiering.schedule"]._upsert(company, moved, ["tier_resources_pending"])

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
        """One UPDATE per chunk: the entities and their child contacts, which
        get their entity's values. A customer whose tier or lock is no
        longer what the run read (a manager set a lock meanwhile, and the
        ORM gave the entity's contacts the same) is left as it is, and out
        of the chunk's history: the change scheduled its review, by the next
        run. The check is on each updated row itself, so that PostgreSQL
        makes it again on a row a concurrent transaction changed."""
        assignments = SQL(", ").join(
            set_company_value("p", name, company, SQL.identifier("s", name)) for name in STORED_COLUMNS
        )
        self.env.cr.execute(
            SQL(
                """
            WITH updated AS (
                UPDATE res_partner p
                   SET %(assignments)s, write_uid = %(uid)s, write_date = (now() AT TIME ZONE 'UTC')
                  FROM customer_tiering_stage s
                 WHERE p.commercial_partner_id = s.id AND s.partner_changed
                   AND (s.old_state IS NULL OR %(state)s = s.old_state)
             RETURNING p.id
            )
            DELETE FROM customer_tiering_stage s
             WHERE s.partner_changed AND NOT EXISTS (SELECT 1 FROM updated u WHERE u.id = s.id)
            """,
                assignments=assignments,
                state=_tiering_state("p", company),
                uid=self.env.uid,
            )
        )

    def _update_schedules(self, company):
        """The days of the chunk's customers whose days moved."""
        columns = SQL(", ").join(SQL("s.%s", SQL.identifier(name)) for name in SCHEDULE_COLUMNS)
        moved = SQL("SELECT s.id, %s FROM customer_tiering_stage s WHERE s.schedule_changed", columns)
        self.env["customer.tiering.schedule"]._upsert(company, moved, list(SCHEDULE_COLUMNS.values()))

    def _unlock_expired(self, company):
        self.env.cr.execute(
            SQL(
                """
            UPDATE res_partner p
               SET %(locked)s, %(until)s
              FROM customer_tiering_stage s
             WHERE p.commercial_partner_id = s.id AND s.unlock
            """,
                locked=set_company_value("p", "tier_locked", company, False),
                until=set_company_value("p", "tier_lock_until", company, None),
            )
        )

    def _log_history(self, company):
        """Tier and lifecycle history rows for the customers that moved: the
        ids of the tier rows and of the lifecycle rows inserted."""
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
            WITH tier AS (
            INSERT INTO customer_tier_history (partner_id, company_id, old_tier_id, new_tier_id, date, reason,
                                               create_uid, create_date)
            SELECT s.id, %(company)s, s.old_tier_id, s.tier_id, %(now)s, s.reason, %(uid)s, %(now)s
              FROM customer_tiering_stage s
             WHERE s.moved
            RETURNING id
            ), stage AS (
            INSERT INTO customer_lifecycle_history (partner_id, company_id, old_stage, new_stage, date,
                                                    create_uid, create_date)
            SELECT s.id, %(company)s, s.old_lifecycle_stage, s.lifecycle_stage, %(now)s, %(uid)s, %(now)s
              FROM customer_tiering_stage s
             WHERE s.lifecycle_stage IS DISTINCT FROM s.old_lifecycle_stage
            RETURNING id
            )
            SELECT ARRAY(SELECT id FROM tier ORDER BY id), ARRAY(SELECT id FROM stage ORDER BY id)
            """,
                company=company.id,
                now=now,
                uid=self.env.uid,
            )
        )
        return self.env.cr.fetchone()

    def _log_segment_history(self, company):
        """RFM segment history rows for the chunk's customers who moved from
        one segment to another, in one INSERT. A first placement is not a
        move: at install it would be a row for every customer, which doubles
        the first night's writes for a history the moves report leaves out."""
        now = fields.Datetime.now()
        self.env.cr.execute(
            SQL(
                """
            INSERT INTO customer_rfm_segment_history (partner_id, company_id, old_segment_id, new_segment_id, date,
                                                      create_uid, create_date, write_uid, write_date)
            SELECT s.id, %(company)s, s.old_rfm_segment_id, s.rfm_segment_id, %(now)s, %(uid)s, %(now)s, %(uid)s,
                   %(now)s
              FROM customer_tiering_stage s
             WHERE s.partner_changed AND s.rfm_segment_id IS DISTINCT FROM s.old_rfm_segment_id
               AND s.old_rfm_segment_id IS NOT NULL
            """,
                company=company.id,
                now=now,
                uid=self.env.uid,
            )
        )

    def _track_in_chatter(self):
        """The chatter tracking the ORM would have logged for customers that
        move from one tier or stage to another: one message per customer with
        a tracking value per field (``mail.message._bulk_log_tracking``). A
        first classification is in the history only: on install it would
        otherwise post one message per customer. The other tracked fields the
        job writes (the stage's date, an expired lock) are in the history or
        follow from these two, and are not tracked. Nor is the RFM segment:
        it moves whenever the score quintiles of every customer shift, so a
        message per move would bury the chatter; its history keeps them."""
        changes = SQL(
            """
            SELECT s.id, 'tier_id', s.old_tier_id::text, s.tier_id::text
              FROM customer_tiering_stage s
             WHERE s.moved AND s.old_tier_id IS NOT NULL
             UNION ALL
            SELECT s.id, 'lifecycle_stage', s.old_lifecycle_stage, s.lifecycle_stage
              FROM customer_tiering_stage s
             WHERE s.lifecycle_stage IS DISTINCT FROM s.old_lifecycle_stage AND s.old_lifecycle_stage IS NOT NULL
            """
        )
        self.env["mail.message"]._bulk_log_tracking("res.partner", changes)
