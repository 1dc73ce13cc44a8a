"""Operations on projects, their stewards and invitations to steward.

Each operation runs inside the caller's transaction and only flushes; the boundary (request
or command) commits. Every change appends a line to the project's public activity log in the
same transaction, so a change and its record stand or fall together.

Callers use this package as one ``service``; the modules only split it by subject.
"""

from potluck.projects.service.activity import activity, record
from potluck.projects.service.invitations import (
    ACCEPTED,
    DECLINED,
    PENDING,
    WITHDRAWN,
    accept_invitation,
    decline_invitation,
    get_invitation,
    invite_steward,
    pending_invitation_for,
    pending_invitations_of,
    pending_invitations_to,
    withdraw_invitation,
)
from potluck.projects.service.paging import MAX_PER_PAGE, PER_PAGE, ResultPage, check_paging
from potluck.projects.service.projects import (
    Order,
    create_project,
    explore,
    get_project,
    recent_projects,
    require_open,
    update_project,
)
from potluck.projects.service.stewards import (
    active_stewards,
    former_stewards,
    is_steward,
    lock,
    require_steward,
    step_down,
    step_down_decision,
    steward_record,
)

__all__ = [
    "ACCEPTED",
    "DECLINED",
    "MAX_PER_PAGE",
    "PENDING",
    "PER_PAGE",
    "WITHDRAWN",
    "Order",
    "ResultPage",
    "accept_invitation",
    "active_stewards",
    "activity",
    "check_paging",
    "create_project",
    "decline_invitation",
    "explore",
    "former_stewards",
    "get_invitation",
    "get_project",
    "invite_steward",
    "is_steward",
    "lock",
    "pending_invitation_for",
    "pending_invitations_of",
    "pending_invitations_to",
    "recent_projects",
    "record",
    "require_open",
    "require_steward",
    "step_down",
    "step_down_decision",
    "steward_record",
    "update_project",
    "withdraw_invitation",
]
