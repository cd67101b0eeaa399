def migrate(cr, version):
    """1.5 links each reversal to the earning it takes back (points_lot_id):
    a cancellation to its document's posting of the same cycle, a credit
    note to the last earning of its invoice before it, and that credit
    note's cancellation to the same earning. A credit note that reversed no
    counted invoice took from the balance: it becomes a *Credit Note
    without Invoice*. Customers read the descriptions on the portal: the
    computation (with the tier) and an adjustment's reason move to the
    entry's internal note."""
    cr.execute(
        """
        UPDATE loyalty_history r
           SET points_lot_id = (SELECT max(p.id)
                                  FROM loyalty_history p
                                  JOIN account_move m ON m.reversed_entry_id = p.order_id
                                 WHERE m.id = r.order_id AND p.order_model = 'account.move'
                                   AND p.points_kind = 'earn' AND p.card_id = r.card_id AND p.id < r.id)
         WHERE r.points_kind = 'refund' AND r.points_lot_id IS NULL AND r.order_model = 'account.move';

        UPDATE loyalty_history SET points_kind = 'return'
         WHERE points_kind = 'refund' AND points_lot_id IS NULL;

        UPDATE loyalty_history v
           SET points_lot_id = COALESCE(p.points_lot_id, CASE WHEN p.points_kind = 'earn' THEN p.id END)
          FROM loyalty_history p
         WHERE v.points_kind = 'void' AND v.points_lot_id IS NULL AND v.order_model = 'account.move'
           AND p.order_model = 'account.move' AND p.order_id = v.order_id AND p.card_id = v.card_id
           AND p.points_kind IN ('earn', 'refund')
           AND substring(p.points_key FROM 'post:(.*)$') = substring(v.points_key FROM 'void:(.*)$');
        """
    )
    cr.execute(
        """
        UPDATE loyalty_history h
           SET points_note = h.description, description = 'Invoice ' || m.name
          FROM account_move m
         WHERE h.points_kind = 'earn' AND h.points_note IS NULL AND h.order_model = 'account.move'
           AND m.id = h.order_id;

        UPDATE loyalty_history SET points_note = description, description = 'Points adjustment'
         WHERE points_kind = 'adjust' AND points_note IS NULL;
        """
    )
