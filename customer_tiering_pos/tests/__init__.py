from . import test_install_uninstall
from . import test_pos_reports
from . import test_pos_points
from . import test_pos_sales
from . import test_pos_tier_card
from . import test_pos_tier_card_tour
from . import test_packaging
