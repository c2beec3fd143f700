"""The journal: an append-only, hash-chained record of who did what to whose data.

Rows are sealed by a PostgreSQL statement-level trigger (migration 0002): every INSERT statement into the journal,
whether one row from the ORM or millions from a set-based ``INSERT ... SELECT``, gets one ``JournalSeal`` whose
hash is ``sha256(previous seal's hash + the canonical text of the statement's rows, in seq order)``. Seals form a
chain in the order the head row's lock grants them. Updates and deletes of journal rows are refused by another
trigger; anything done behind the triggers' back breaks a seal, the chain, or the row count.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class JournalEntry(models.Model):
    seq = models.BigAutoField(_("numéro"), primary_key=True)
    # The writing transaction (with seq, it tells which seal covers the row). Checked by the seal trigger.
    xact = models.BigIntegerField(editable=False, db_default=models.Func(function="txid_current"))
    created_at = models.DateTimeField(_("date"), editable=False, db_default=Now())
    # No foreign-key constraints: the journal outlives the accounts and objects it speaks of.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("auteur"),
    )
    actor_label = models.CharField(_("auteur (libellé)"), max_length=200, blank=True, db_default="")
    action = models.CharField(_("action"), max_length=100)
    citizen = models.ForeignKey(
        "comptes.Citizen",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
        verbose_name=_("usager concerné"),
    )
    # Database defaults too, so that set-based SQL inserts need to name only what they know.
    object_type = models.CharField(_("type d'objet"), max_length=100, blank=True, db_default="")
    object_id = models.CharField(_("identifiant d'objet"), max_length=100, blank=True, db_default="")
    details = models.JSONField(_("détails"), blank=True, db_default=models.Value({}, output_field=models.JSONField()))

    class Meta:
        verbose_name = _("entrée du journal")
        verbose_name_plural = _("journal")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["citizen", "-seq"], name="journal_citizen_seq"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__regex=r"^[a-z_]+(\.[a-z_]+)+$"), name="journal_action_namespaced"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class JournalSeal(models.Model):
    """The hash of one INSERT statement's rows, chained to the previous seal."""

    xact = models.BigIntegerField()
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    row_count = models.IntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("sceau du journal")
        verbose_name_plural = _("sceaux du journal")

    def __str__(self) -> str:
        return f"{self.first_seq}-{self.last_seq} {self.hash[:12]}"


class JournalHead(models.Model):
    """The single row holding the end of the chain; its row lock orders the seals of concurrent writers."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="journal_head_single_row")]

    def __str__(self) -> str:
        return self.last_hash[:12]
