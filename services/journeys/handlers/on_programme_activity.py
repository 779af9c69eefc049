"""Consumer of the programmes: links a registration to the owner's profile, redeems referral codes, erasure."""

from typing import Any

from services.common import clock
from services.common.consumer import sqs_handler
from services.common.erasure import erased_profile_ids
from services.journeys import app
from services.journeys.use_cases import coupons, referrals


def _activity(incoming: Any) -> None:
    referrals.on_activity(incoming, app.programmes(), app.publisher(), clock.now())


def _erased(incoming: Any) -> None:
    """Serials freed and the referral code retired (referrals), coupon claims forgotten (the codes stay handed
    out, never reissued), for the erased profile and every profile merged into it."""
    referrals.erase(incoming, app.programmes(), clock.now())
    for profile_id in erased_profile_ids(incoming.data):
        coupons.forget_profile(profile_id, app.coupons())


handler = sqs_handler("journeys", {"ActivityRecorded": _activity, "ProfileErased": _erased})
