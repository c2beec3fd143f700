"""The journal: an append-only, hash-chained record of who did what to whose data.

Rows are sealed by a PostgreSQL statement-level trigger (migration 0002): every INSERT statement into the journal,
whether one row from the ORM or millions from a set-based ``INSERT ... SELECT``, gets one ``JournalSeal`` whose
hash is ``sha256(previous seal's hash + the canonical text of the statement's rows, in seq order)``. Seals form a
chain in the order the head row's lock grants them. Updates and deletes of journal rows are refused by another
trigger; anything done behind the triggers' back breaks a seal, the chain, or the row count.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
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


# --- The citizen's control over professionals' access ------------------------------------------------------------


class Scope(models.TextChoices):
    """The parts of a space an access may open (a temporary code chooses some of them)."""

    DOCUMENTS = "documents", _("Documents")
    MEASURES = "mesures", _("Mesures de santé")
    PROFILE = "profil", _("Profil médical")
    IMMUNIZATIONS = "vaccinations", _("Vaccinations")


class CareTeamMember(models.Model):
    """A professional of the citizen's care team; at most one of them is the declared *médecin traitant*."""

    citizen = models.ForeignKey("comptes.Citizen", on_delete=models.CASCADE, related_name="care_team")
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("professionnel")
    )
    is_treating_doctor = models.BooleanField(_("médecin traitant"), default=False)
    added_at = models.DateTimeField(_("ajouté le"), auto_now_add=True)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("membre de l’équipe de soins")
        verbose_name_plural = _("équipes de soins")
        constraints = [
            models.UniqueConstraint(fields=["citizen", "professional"], name="care_team_once"),
            models.UniqueConstraint(
                fields=["citizen"], condition=models.Q(is_treating_doctor=True), name="care_team_one_treating_doctor"
            ),
        ]
        indexes = [models.Index(fields=["professional", "citizen"], name="care_team_professional")]

    def __str__(self) -> str:
        return f"{self.citizen_id} → {self.professional_id}"


class AccessDelegation(models.Model):
    """A temporary access given with a one-time code: to the professional who enters it first, for its scopes,
    until ``expires_at`` (the code must be entered before then too), unless the citizen ends it sooner."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey("comptes.Citizen", on_delete=models.CASCADE, related_name="access_delegations")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    scopes = ArrayField(models.CharField(max_length=16, choices=Scope.choices), verbose_name=_("périmètre"))
    expires_at = models.DateTimeField(_("valable jusqu’au"))
    # Keyed hash of the code (HMAC, mes.comptes.codes): unique, so a code finds its delegation by an index.
    code_hash = models.CharField(max_length=64, unique=True)
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("professionnel"),
    )
    used_at = models.DateTimeField(_("code utilisé le"), null=True, blank=True)
    ended_at = models.DateTimeField(_("arrêté le"), null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("accès temporaire")
        verbose_name_plural = _("accès temporaires")
        constraints = [
            models.CheckConstraint(condition=models.Q(scopes__len__gt=0), name="delegation_scopes_not_empty"),
            models.CheckConstraint(
                condition=models.Q(used_at__isnull=True, professional__isnull=True)
                | models.Q(used_at__isnull=False, professional__isnull=False),
                name="delegation_used_by_someone",
            ),
        ]
        indexes = [
            models.Index(fields=["professional", "citizen", "expires_at"], name="delegation_professional"),
            models.Index(fields=["citizen", "-created_at"], name="delegation_citizen"),
        ]

    def __str__(self) -> str:
        return str(self.public_id)


class CodeEntryGuard(models.Model):
    """Wrong access codes in a row of one professional; five of them lock code entry for a while."""

    professional = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.professional_id}: {self.consecutive_failures}"


class ProfessionalBlock(models.Model):
    """A professional the citizen has blocked: they see nothing of the space, with a code or without."""

    citizen = models.ForeignKey("comptes.Citizen", on_delete=models.CASCADE, related_name="professional_blocks")
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("professionnel")
    )
    created_at = models.DateTimeField(_("bloqué le"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("professionnel bloqué")
        verbose_name_plural = _("professionnels bloqués")
        constraints = [models.UniqueConstraint(fields=["citizen", "professional"], name="block_once")]

    def __str__(self) -> str:
        return f"{self.citizen_id} ⊘ {self.professional_id}"


class EmergencyAccess(models.Model):
    """An emergency access (bris de glace) opened by a professional with the emergency role, with its reason."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey("comptes.Citizen", on_delete=models.CASCADE, related_name="emergency_accesses")
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("professionnel")
    )
    reason = models.TextField(_("motif"), max_length=500)
    started_at = models.DateTimeField(_("ouvert le"), auto_now_add=True)
    expires_at = models.DateTimeField(_("valable jusqu’au"))
    ended_at = models.DateTimeField(_("arrêté le"), null=True, blank=True)

    class Meta:
        verbose_name = _("accès en urgence")
        verbose_name_plural = _("accès en urgence")
        indexes = [models.Index(fields=["professional", "citizen", "expires_at"], name="emergency_professional")]

    def __str__(self) -> str:
        return str(self.public_id)


# --- Referenced apps: habilitation (granted at référencement) and appariement (consented by the citizen) ----------


class AppHabilitation(models.Model):
    """What a referenced app may ask for: its OAuth2 client and the SMART scopes approved at référencement.

    Référencement (or an administrator) grants it; a suspended habilitation keeps its pairings but every API call
    and every new pairing is refused until it is reinstated.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.OneToOneField(
        "oauth2_provider.Application",
        on_delete=models.PROTECT,
        related_name="habilitation",
        verbose_name=_("client OAuth2"),
    )
    name = models.CharField(_("nom du service"), max_length=120)
    editor_name = models.CharField(_("éditeur"), max_length=120)
    # The editor's OID (AFNOR), which its measures carry in meta.source and its devices in their identifiers.
    oid = models.CharField(_("OID de l’éditeur"), max_length=64)
    # A sandbox app (technical tests of a référencement dossier) may pair only test citizens, and production apps
    # never pair them; several sandbox apps of one editor share its OID.
    sandbox = models.BooleanField(_("bac à sable"), default=False, db_default=False)
    approved_scopes = ArrayField(
        models.CharField(max_length=64), default=list, blank=True, verbose_name=_("périmètres approuvés")
    )
    created_at = models.DateTimeField(_("accordée le"), auto_now_add=True)
    suspended_at = models.DateTimeField(_("suspendue le"), null=True, blank=True)

    class Meta:
        verbose_name = _("habilitation de service")
        verbose_name_plural = _("habilitations de services")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(oid__regex=r"^[0-2](\.(0|[1-9][0-9]*))+$"), name="app_oid_format"
            ),
            models.UniqueConstraint(fields=["oid"], condition=models.Q(sandbox=False), name="app_oid_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.suspended_at is None


class Pairing(models.Model):
    """An appariement: the citizen linked their space to an app's account (``external_id``), with consent.

    ``idpe`` is the pseudonymous identifier this app knows the person by: derived from the app and the person with
    a server key, so it is the same at every pairing of the same app and different for every app. ``scopes`` are the
    SMART scopes the citizen consented to (within the habilitation's). Revoked pairings stay, as the history of
    consents; one active pairing per app and person.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    citizen = models.ForeignKey("comptes.Citizen", on_delete=models.CASCADE, related_name="pairings")
    habilitation = models.ForeignKey(AppHabilitation, on_delete=models.CASCADE, related_name="pairings")
    external_id = models.CharField(_("identifiant dans le service"), max_length=128)
    idpe = models.CharField(_("idPe"), max_length=64)
    scopes = ArrayField(models.CharField(max_length=64), default=list, blank=True, verbose_name=_("périmètres"))
    created_at = models.DateTimeField(_("apparié le"), auto_now_add=True)
    consented_at = models.DateTimeField(_("consentement donné le"))
    last_access_at = models.DateTimeField(_("dernier accès le"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("révoqué le"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("appariement")
        verbose_name_plural = _("appariements")
        constraints = [
            models.UniqueConstraint(
                fields=["citizen", "habilitation"],
                condition=models.Q(revoked_at__isnull=True),
                name="pairing_one_active",
            ),
        ]
        indexes = [
            models.Index(fields=["habilitation", "idpe"], name="pairing_idpe"),
            models.Index(fields=["citizen", "-created_at"], name="pairing_citizen"),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
