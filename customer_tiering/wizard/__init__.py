from . import customer_points_adjustment
