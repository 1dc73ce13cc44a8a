"""The pure rules of needs, pledges and payday: no I/O, no clock, no database.

Amounts are integers in the commodity's smallest unit. Every function here is deterministic;
ties are broken by pledge creation order, then id.
"""

from potluck.pledges.rules.checks import ACCEPTED, check_need, check_new_share, check_pledge
from potluck.pledges.rules.clearing import Charge, Clearing, Coverage, clear
from potluck.pledges.rules.crowdmatch import (
    CrowdmatchOutcome,
    crowdmatch,
    crowdmatch_outcome,
    crowdmatch_size,
)
from potluck.pledges.rules.needs import FundingRule, Need
from potluck.pledges.rules.payments import DonorCommodity, DonorPayments, Payment, donor_payments
from potluck.pledges.rules.periods import Cadence, Period, amount_for_period
from potluck.pledges.rules.pledges import (
    AllOrNothing,
    Crowdmatch,
    Gift,
    Pledge,
    PledgeKind,
    PledgeState,
    Share,
    creation_order,
    new_all_or_nothing,
    new_crowdmatch,
    new_gift,
    new_share,
)
from potluck.pledges.rules.preview import (
    Preview,
    default_joining,
    least_share_cap,
    preview_crowdmatch,
    preview_share,
)
from potluck.pledges.rules.share import share_charges, sharing_size

__all__ = [
    "ACCEPTED",
    "AllOrNothing",
    "Cadence",
    "Charge",
    "Clearing",
    "Coverage",
    "Crowdmatch",
    "CrowdmatchOutcome",
    "DonorCommodity",
    "DonorPayments",
    "FundingRule",
    "Gift",
    "Need",
    "Payment",
    "Period",
    "Pledge",
    "PledgeKind",
    "PledgeState",
    "Preview",
    "Share",
    "amount_for_period",
    "check_need",
    "check_new_share",
    "check_pledge",
    "clear",
    "creation_order",
    "crowdmatch",
    "crowdmatch_outcome",
    "crowdmatch_size",
    "default_joining",
    "donor_payments",
    "least_share_cap",
    "new_all_or_nothing",
    "new_crowdmatch",
    "new_gift",
    "new_share",
    "preview_crowdmatch",
    "preview_share",
    "share_charges",
    "sharing_size",
]
