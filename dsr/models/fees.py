"""A reasonable fee the privacy team asks of a requester (GDPR Art. 12(5)(a), Art. 15(3)), and its payment."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from dsr.models.requests import Request, Suspension


class FeeGround(models.TextChoices):
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded", _("Manifestly unfounded (Art. 12(5)(a))")
    EXCESSIVE = "excessive", _("Excessive, in particular repetitive (Art. 12(5)(a))")
    FURTHER_COPIES = "further_copies", _("Further copies of the data (Art. 15(3))")


class FeeStatus(models.TextChoices):
    AWAITING_PAYMENT = "awaiting_payment", _("Waiting for payment")
    PAID = "paid", _("Paid")
    WAIVED = "waived", _("Waived")
    WITHDRAWN = "withdrawn", _("Request withdrawn")
    # The request was closed (refused, cancelled) while the fee was still unpaid.
    UNPAID = "unpaid", _("Not paid; the request was closed")


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    MOBILEPAY = "mobilepay", _("MobilePay")
    CARD = "card", _("Card")
    CASH = "cash", _("Cash")
    OTHER = "other", _("Other")


class Fee(models.Model):
    """One fee asked of the requester; the request waits (its clock stopped) until it is paid, waived or withdrawn.

    The free text the requester or staff wrote (``reasons``, ``payment_reference``, ``waiver_reasons``) is
    personal data of the request and goes when the request is purged; amounts, grounds and dates stay as evidence.
    """

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="fees", verbose_name=_("request"))
    # The clock stop the fee put on the request (dsr/workflow/fees.py); it ends when the fee is settled.
    suspension = models.OneToOneField(
        Suspension, null=True, blank=True, on_delete=models.SET_NULL, related_name="fee", verbose_name=_("suspension")
    )
    ground = models.CharField(max_length=32, choices=FeeGround.choices, verbose_name=_("ground"))
    amount = models.DecimalField(max_digits=10, decimal_places=2, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    reasons = models.TextField(
        help_text=_("Why the fee is asked and how the amount was set; sent to the requester."),
        verbose_name=_("reasons"),
    )
    # What the letter told the person about how to pay, as it was when the fee was asked.
    payment_instructions = models.TextField(verbose_name=_("payment instructions"))
    status = models.CharField(
        max_length=32, choices=FeeStatus.choices, default=FeeStatus.AWAITING_PAYMENT, verbose_name=_("status")
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )

    # How it ended: paid (what, when, how), waived (why), withdrawn, or left unpaid when the request closed.
    settled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("settled at"))
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("settled by"),
    )
    paid_amount = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, verbose_name=_("paid amount")
    )
    paid_on = models.DateField(null=True, blank=True, verbose_name=_("paid on"))
    payment_method = models.CharField(
        max_length=32, choices=PaymentMethod.choices, blank=True, verbose_name=_("payment method")
    )
    payment_reference = models.CharField(max_length=100, blank=True, verbose_name=_("payment reference"))
    waiver_reasons = models.TextField(blank=True, verbose_name=_("waiver reasons"))

    class Meta:
        verbose_name = _("fee")
        verbose_name_plural = _("fees")
        ordering = ["requested_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(status="awaiting_payment"),
                name="dsr_one_awaited_fee_per_request",
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="dsr_fee_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"fee {self.pk} on request {self.request_id}"

    @property
    def is_awaiting(self) -> bool:
        return self.status == FeeStatus.AWAITING_PAYMENT
