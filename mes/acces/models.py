"""The journal: an append-only, hash-chained record of who did what to whose data.

Rows are chained by a PostgreSQL trigger (see migration 0002): it numbers each row (``seq``), copies the
previous row's hash into ``prev_hash`` and stores ``hash = sha256(prev_hash | canonical payload)``. Doing it in
the database means ORM inserts and set-based ``INSERT ... SELECT`` of millions of rows are chained the same
way. Updates and deletes are refused by another trigger.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class JournalEntry(models.Model):
    # Set by the database trigger; ``db_default`` makes Django read the values back on insert.
    seq = models.BigIntegerField(_("numéro"), unique=True, editable=False, db_default=0)
    created_at = models.DateTimeField(_("date"), default=timezone.now, editable=False)
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
    actor_label = models.CharField(_("auteur (libellé)"), max_length=200, blank=True)
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
    object_type = models.CharField(_("type d'objet"), max_length=100, blank=True)
    object_id = models.CharField(_("identifiant d'objet"), max_length=100, blank=True)
    details = models.JSONField(_("détails"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False, db_default="")
    hash = models.CharField(max_length=64, editable=False, db_default="")

    class Meta:
        verbose_name = _("entrée du journal")
        verbose_name_plural = _("journal")
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["citizen", "-seq"], name="journal_citizen_seq"),
            models.Index(fields=["action", "-seq"], name="journal_action_seq"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__regex=r"^[a-z_]+(\.[a-z_]+)+$"), name="journal_action_namespaced"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"


class JournalHead(models.Model):
    """The single row holding the end of the chain; its row lock orders concurrent writers."""

    id = models.SmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="journal_head_single_row")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.last_hash[:12]}"
