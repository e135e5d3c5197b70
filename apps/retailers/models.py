"""Retail electricity suppliers (小売電気事業者) a customer can contract with.

Whether a retailer is *affiliated* (the utility's own retail division) decides whether its
customers' data is non-public information under the conduct rules, so the flag changes
only through a proposal by one administrator approved by a different one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Retailer(models.Model):
    code = models.CharField(_("registration code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    is_affiliated = models.BooleanField(_("affiliated"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("retailer")
        verbose_name_plural = _("retailers")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class AffiliationProposal(models.Model):
    retailer = models.ForeignKey(Retailer, on_delete=models.PROTECT, related_name="proposals")
    make_affiliated = models.BooleanField(_("make affiliated"))
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=16, choices=ProposalStatus, default=ProposalStatus.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # What the approval withdrew, fixed at the decision: [{"application": id, "reference":
    # "...", "was_visible": bool}]. References and ids only, never anything of a customer.
    withdrawn = models.JSONField(_("withdrawn applications"), default=list, blank=True)

    class Meta:
        verbose_name = _("affiliation proposal")
        verbose_name_plural = _("affiliation proposals")
        permissions = [
            ("propose_affiliation", _("Can propose an affiliation change")),
            ("decide_affiliation", _("Can approve or reject an affiliation change")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["retailer"],
                condition=Q(status="pending"),
                name="one_pending_proposal_per_retailer",
            )
        ]

    def __str__(self) -> str:
        return f"{self.retailer.code} → {'affiliated' if self.make_affiliated else 'independent'}"
