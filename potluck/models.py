"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from potluck import idempotency as idempotency_models
from potluck.db import Base
from potluck.ledger import models as ledger_models
from potluck.people import models as people_models
from potluck.pledges import models as pledges_models  # noqa: F401
from potluck.pledges.payments import models as payments_models  # noqa: F401
from potluck.projects import models as projects_models

__all__ = ["Base", "idempotency_models", "ledger_models", "people_models", "projects_models"]
