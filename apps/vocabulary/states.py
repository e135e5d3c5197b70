from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ApplicationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ENTERED = "entered", _("Entered")
    ENCODED = "encoded", _("Encoded")
    VERIFIED = "verified", _("Verified")
    RELEASED = "released", _("Released for construction")
    CONSTRUCTED = "constructed", _("Construction completed")
    ENERGIZED = "energized", _("Energized")
    CANCELLED = "cancelled", _("Cancelled")


# After release the construction progress stands on its own: a change of customer data or
# retailer withdraws retail visibility (masking) without moving these states back.
POST_RELEASE_STATES = (
    ApplicationState.RELEASED,
    ApplicationState.CONSTRUCTED,
    ApplicationState.ENERGIZED,
)
CANCELLABLE_STATES = (
    ApplicationState.DRAFT,
    ApplicationState.ENTERED,
    ApplicationState.ENCODED,
    ApplicationState.VERIFIED,
    ApplicationState.RELEASED,
    ApplicationState.CONSTRUCTED,
)
EDITABLE_STATES = (
    ApplicationState.DRAFT,
    ApplicationState.ENTERED,
    ApplicationState.ENCODED,
    ApplicationState.VERIFIED,
    ApplicationState.RELEASED,
    ApplicationState.CONSTRUCTED,
)


class MaskingState(models.TextChoices):
    UNMASKED = "unmasked", _("Not masked")
    ENCODED = "encoded", _("Masked, awaiting second check")
    VERIFIED = "verified", _("Masked and verified")


class ContractClass(models.TextChoices):
    LOW = "low", _("Low voltage")
    HIGH = "high", _("High voltage")


class Contribution(models.TextChoices):
    """Ways a person shapes a version; any of them bars that person from verifying it."""

    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited")
    SUBMITTED = "submitted", _("Submitted")
    ENCODED = "encoded", _("Encoded")


class RevealPurpose(models.TextChoices):
    # Work pages of T&D staff (logged automatically with the step as purpose)
    ENTRY = "entry", _("Entering the application")
    EDIT = "edit", _("Correcting the application")
    ENCODE = "encode", _("Encoding check")
    REVIEW = "review", _("Second-person review")
    # Construction staff choose one of these before the contact details are shown
    SCHEDULING = "scheduling", _("Scheduling the work")
    SITE_ACCESS = "site_access", _("Site access")
    OUTAGE_NOTICE = "outage_notice", _("Outage notice")
    DISASTER_RESTORATION = "disaster_restoration", _("Disaster restoration")
    OTHER = "other", _("Other (state the reason)")


WORK_PAGE_PURPOSES = (
    RevealPurpose.ENTRY,
    RevealPurpose.EDIT,
    RevealPurpose.ENCODE,
    RevealPurpose.REVIEW,
)
CONSTRUCTION_PURPOSES = (
    RevealPurpose.SCHEDULING,
    RevealPurpose.SITE_ACCESS,
    RevealPurpose.OUTAGE_NOTICE,
    RevealPurpose.DISASTER_RESTORATION,
    RevealPurpose.OTHER,
)

PREFECTURES: list[tuple[str, str]] = [
    (f"{i:02d}", name)
    for i, name in enumerate(
        [
            "北海道",
            "青森県",
            "岩手県",
            "宮城県",
            "秋田県",
            "山形県",
            "福島県",
            "茨城県",
            "栃木県",
            "群馬県",
            "埼玉県",
            "千葉県",
            "東京都",
            "神奈川県",
            "新潟県",
            "富山県",
            "石川県",
            "福井県",
            "山梨県",
            "長野県",
            "岐阜県",
            "静岡県",
            "愛知県",
            "三重県",
            "滋賀県",
            "京都府",
            "大阪府",
            "兵庫県",
            "奈良県",
            "和歌山県",
            "鳥取県",
            "島根県",
            "岡山県",
            "広島県",
            "山口県",
            "徳島県",
            "香川県",
            "愛媛県",
            "高知県",
            "福岡県",
            "佐賀県",
            "長崎県",
            "熊本県",
            "大分県",
            "宮崎県",
            "鹿児島県",
            "沖縄県",
        ],
        start=1,
    )
]
