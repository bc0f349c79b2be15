"""Imports every domain's tables so that ``SQLModel.metadata`` is complete (Alembic, tests)."""

from participation.accounts import models as accounts_models
from participation.core import models as core_models
from participation.dashboards import models as dashboards_models
from participation.fieldwork import models as fieldwork_models
from participation.geography import models as geography_models
from participation.media import models as media_models
from participation.reports import models as reports_models
from participation.scoring import models as scoring_models
from participation.surveys import models as surveys_models
from participation.volunteers import models as volunteers_models

__all__ = [
    "accounts_models",
    "core_models",
    "dashboards_models",
    "fieldwork_models",
    "geography_models",
    "media_models",
    "reports_models",
    "scoring_models",
    "surveys_models",
    "volunteers_models",
]
