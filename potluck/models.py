"""Every table, imported in one place so that Alembic and the tests see the whole schema."""

from potluck.db import Base
from potluck.people import models as people_models
from potluck.projects import models as projects_models

__all__ = ["Base", "people_models", "projects_models"]
