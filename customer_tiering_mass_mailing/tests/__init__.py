from . import test_i18n
from . import test_mailing_filters
from . import test_rpc_roles
from . import test_packaging
