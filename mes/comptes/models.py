"""Accounts and roles.

One ``User`` per person who signs in, identified by e-mail. Its ``role`` decides which part of the portal it
may open; role-specific facts live in their own tables (professional RPPS, editor organisation, commission
seat, citizen INS identity).
"""

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from mes.comptes.identifiers import validate_ins, validate_rpps, validate_siret


class Role(models.TextChoices):
    CITIZEN = "citizen", _("Usager")
    PROFESSIONAL = "professional", _("Professionnel de santé")
    EDITOR = "editor", _("Éditeur")
    COMMISSION = "commission", _("Membre de la commission")
    ADMIN = "admin", _("Administrateur")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields):
        fields.setdefault("role", Role.CITIZEN)
        fields["is_staff"] = fields.get("role") == Role.ADMIN
        fields["is_superuser"] = fields.get("role") == Role.ADMIN
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(role=Role.ADMIN, is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


class User(AbstractUser):
    username = None
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("adresse électronique"), unique=True)
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices, default=Role.CITIZEN)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            # Only administrators reach the Django admin.
            models.CheckConstraint(
                condition=models.Q(is_staff=False) | models.Q(role="admin"), name="user_staff_is_admin"
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Sex(models.TextChoices):
    MALE = "M", _("Masculin")
    FEMALE = "F", _("Féminin")
    OTHER = "I", _("Indéterminé")


class CitizenStatus(models.TextChoices):
    """Lifecycle of a space (décret 2021-1048): see ``mes.comptes.services.lifecycle`` for the transitions."""

    IMPORTED = "imported", _("À notifier")
    NOTIFIED = "notified", _("Notifié")
    ACTIVATED = "activated", _("Activé")
    OPPOSED = "opposed", _("Opposé")
    CREATED_AUTOMATICALLY = "created_automatically", _("Créé automatiquement")
    CLOSED = "closed", _("Fermé")


class ClosureReason(models.TextChoices):
    PERSON = "person", _("À la demande de la personne")
    DEATH = "death", _("Décès")


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("Courriel")
    LETTER = "letter", _("Courrier")


class Wave(models.Model):
    """A wave of the opt-out campaign: the insured people of some départements, imported then notified."""

    class Status(models.TextChoices):
        IMPORTING = "importing", _("Import en cours")
        IMPORT_FAILED = "import_failed", _("Import refusé")
        IMPORTED = "imported", _("Importée")
        NOTIFYING = "notifying", _("Notification en cours")
        NOTIFIED = "notified", _("Notifiée")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("nom"), max_length=200)
    departments = ArrayField(models.CharField(max_length=3), verbose_name=_("départements"), default=list)
    status = models.CharField(_("état"), max_length=16, choices=Status.choices, default=Status.IMPORTING)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("créée le"), auto_now_add=True)
    source_filename = models.CharField(_("fichier importé"), max_length=255, blank=True)
    # Where the uploaded file waits in the storage for the import task (deleted once the import has ended).
    source_name = models.CharField(max_length=255, blank=True)
    total_lines = models.PositiveIntegerField(_("lignes du fichier"), default=0)
    processed_lines = models.PositiveIntegerField(_("lignes traitées"), default=0)
    imported_count = models.PositiveIntegerField(_("personnes importées"), default=0)
    duplicate_count = models.PositiveIntegerField(_("personnes déjà connues"), default=0)
    rejected_count = models.PositiveIntegerField(_("lignes rejetées"), default=0)
    rejected_report = models.FileField(_("rapport des lignes rejetées"), upload_to="campagnes/rejets/", blank=True)
    error_message = models.TextField(_("erreur"), blank=True)
    notified_at = models.DateTimeField(_("notifiée le"), null=True, blank=True)
    deadline = models.DateTimeField(_("échéance"), null=True, blank=True)
    # People whose e-mail could not be delivered after every retry: back to « à notifier » for a new notification.
    undelivered_count = models.PositiveIntegerField(_("courriels non remis"), default=0)

    class Meta:
        verbose_name = _("vague de notification")
        verbose_name_plural = _("vagues de notification")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class LetterBatch(models.Model):
    """One PDF of printable letters (a page per person) for the people of a wave without an e-mail address."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="letter_batches")
    number = models.PositiveIntegerField(_("numéro de lot"))
    file = models.FileField(_("fichier PDF"), upload_to="campagnes/courriers/")
    people_count = models.PositiveIntegerField(_("nombre de courriers"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("lot de courriers")
        verbose_name_plural = _("lots de courriers")
        constraints = [models.UniqueConstraint(fields=["wave", "number"], name="letter_batch_unique")]

    def __str__(self) -> str:
        return f"{self.wave} — lot {self.number}"


class Citizen(models.Model):
    """An insured person, identified by the matricule INS and the birth traits of the INS referential.

    A minor child has no ``user`` of their own: the legal representatives manage the space. A person imported by a
    campaign has no ``user`` either until they activate their space.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="citizen", verbose_name=_("compte")
    )
    # Unique through a constraint (below), not ``unique=True``: that would add a second, LIKE-pattern index that
    # exact INS lookups never use and every mass import would pay for.
    ins = models.CharField(_("matricule INS"), max_length=15, validators=[validate_ins])
    birth_name = models.CharField(_("nom de naissance"), max_length=100)
    first_names = models.CharField(_("prénoms de naissance"), max_length=200)
    used_first_name = models.CharField(_("prénom utilisé"), max_length=100, blank=True)
    birth_date = models.DateField(_("date de naissance"))
    sex = models.CharField(_("sexe"), max_length=1, choices=Sex.choices)
    birthplace_code = models.CharField(_("code du lieu de naissance (INSEE)"), max_length=5)
    contact_email = models.EmailField(_("adresse électronique de contact"), blank=True)
    contact_phone = models.CharField(_("téléphone"), max_length=20, blank=True)
    # Postal address, for the notification letter of people without a known e-mail address.
    # (Database defaults too: set-based inserts that do not know the address need not name these columns.)
    address_line = models.CharField(_("adresse"), max_length=200, blank=True, db_default="")
    address_complement = models.CharField(_("complément d’adresse"), max_length=200, blank=True, db_default="")
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True, db_default="")
    city = models.CharField(_("commune"), max_length=100, blank=True, db_default="")
    legal_representatives = models.ManyToManyField(
        User, blank=True, related_name="represented_citizens", verbose_name=_("représentants légaux")
    )
    # Lifecycle (opt-out creation, décret 2021-1048).
    status = models.CharField(_("état"), max_length=24, choices=CitizenStatus.choices, default=CitizenStatus.ACTIVATED)
    department = models.CharField(_("département"), max_length=3, blank=True)
    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.PROTECT, related_name="citizens")
    notification_channel = models.CharField(
        _("canal de notification"), max_length=8, choices=NotificationChannel.choices, blank=True
    )
    notified_at = models.DateTimeField(_("notifié le"), null=True, blank=True)
    deadline = models.DateTimeField(_("échéance de création automatique"), null=True, blank=True)
    activated_at = models.DateTimeField(_("activé le"), null=True, blank=True)
    opposed_at = models.DateTimeField(_("opposition le"), null=True, blank=True)
    auto_created_at = models.DateTimeField(_("créé automatiquement le"), null=True, blank=True)
    closed_at = models.DateTimeField(_("fermé le"), null=True, blank=True)
    closure_reason = models.CharField(_("motif de fermeture"), max_length=8, choices=ClosureReason.choices, blank=True)
    content_deletion_due_at = models.DateTimeField(_("suppression du contenu prévue le"), null=True, blank=True)
    content_deleted_at = models.DateTimeField(_("contenu supprimé le"), null=True, blank=True)
    mss_address = models.CharField(_("adresse de messagerie santé"), max_length=40, blank=True)
    # One-time activation/opposition code of the letter or e-mail: only its hash is kept.
    code_hash = models.CharField(max_length=128, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_failures = models.PositiveSmallIntegerField(default=0)
    # The person's choice, in their settings, to refuse emergency access (bris de glace) to their space.
    emergency_access_refused = models.BooleanField(_("accès en urgence refusé"), default=False, db_default=False)
    # A fictional person of the référencement sandbox (technical tests): only sandbox apps may pair with them.
    is_sandbox = models.BooleanField(_("usager de test (bac à sable)"), default=False, db_default=False)

    class Meta:
        verbose_name = _("usager")
        verbose_name_plural = _("usagers")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ins__regex=r"^[0-9]{5}([0-9]{2}|2A|2B)[0-9]{8}$"), name="citizen_ins_format"
            ),
            models.CheckConstraint(
                condition=models.Q(birthplace_code__regex=r"^[0-9]([0-9]|A|B)[0-9]{3}$"),
                name="citizen_birthplace_format",
            ),
            models.UniqueConstraint(fields=["ins"], name="citizen_ins_unique"),
            models.CheckConstraint(condition=models.Q(status__in=CitizenStatus.values), name="citizen_status_valid"),
            # A space that exists (activated or created automatically) has its MSS address.
            models.CheckConstraint(
                condition=~models.Q(status__in=["activated", "created_automatically"]) | ~models.Q(mss_address=""),
                name="citizen_created_has_mss",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="notified") | models.Q(notified_at__isnull=False, deadline__isnull=False),
                name="citizen_notified_has_deadline",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="closed") | models.Q(closed_at__isnull=False),
                name="citizen_closed_has_date",
            ),
        ]
        indexes = [
            # The automatic creation job walks the people still waiting, by id range.
            models.Index(fields=["deadline", "id"], condition=models.Q(status="notified"), name="citizen_waiting_idx"),
            models.Index(fields=["wave", "status"], name="citizen_wave_status_idx"),
            models.Index(fields=["department", "status"], name="citizen_department_status_idx"),
            # Activation by birth traits (without the INS) looks people up by these.
            models.Index(fields=["birth_date", "birthplace_code"], name="citizen_birth_traits_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_first_name} {self.birth_name}"

    @property
    def display_first_name(self) -> str:
        return self.used_first_name or self.first_names.split(" ")[0]

    @property
    def has_space(self) -> bool:
        return self.status in (CitizenStatus.ACTIVATED, CitizenStatus.CREATED_AUTOMATICALLY)


def mss_address_for(ins: str) -> str:
    return f"{ins}@{settings.MSS_PATIENT_DOMAIN}"


class Profession(models.TextChoices):
    DOCTOR = "medecin", _("Médecin")
    NURSE = "infirmier", _("Infirmier ou infirmière")
    PHARMACIST = "pharmacien", _("Pharmacien ou pharmacienne")
    MIDWIFE = "sage_femme", _("Sage-femme")
    PHYSIOTHERAPIST = "masseur_kinesitherapeute", _("Masseur-kinésithérapeute")
    DENTIST = "chirurgien_dentiste", _("Chirurgien-dentiste")
    SOCIAL_WORKER = "travailleur_medico_social", _("Professionnel du médico-social")


class ProfessionalProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="professional")
    rpps = models.CharField(_("numéro RPPS"), max_length=11, unique=True, validators=[validate_rpps])
    profession = models.CharField(_("profession"), max_length=32, choices=Profession.choices)
    specialty = models.CharField(_("spécialité"), max_length=100, blank=True)
    practice_place = models.CharField(_("lieu d'exercice"), max_length=200, blank=True)
    # Emergency services (SAMU, urgences): may open a space without a code, stating a reason (bris de glace).
    emergency_role = models.BooleanField(_("habilité à l’accès en urgence"), default=False, db_default=False)

    class Meta:
        verbose_name = _("professionnel de santé")
        verbose_name_plural = _("professionnels de santé")
        constraints = [models.CheckConstraint(condition=models.Q(rpps__regex=r"^[0-9]{11}$"), name="pro_rpps_format")]

    def __str__(self) -> str:
        return f"{self.user.display_name} ({self.get_profession_display()})"


class Organisation(models.Model):
    """An editor: a company or public body publishing a digital service."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("raison sociale"), max_length=200)
    siret = models.CharField(_("SIRET"), max_length=14, unique=True, validators=[validate_siret])
    members = models.ManyToManyField(User, through="Membership", related_name="organisations")

    class Meta:
        verbose_name = _("organisation éditrice")
        verbose_name_plural = _("organisations éditrices")
        constraints = [models.CheckConstraint(condition=models.Q(siret__regex=r"^[0-9]{14}$"), name="org_siret_format")]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Level(models.TextChoices):
        MANAGER = "manager", _("Responsable")
        MEMBER = "member", _("Membre")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    level = models.CharField(_("niveau"), max_length=16, choices=Level.choices, default=Level.MEMBER)

    class Meta:
        verbose_name = _("membre d'organisation")
        verbose_name_plural = _("membres d'organisation")
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} — {self.organisation}"


class CommissionSeat(models.TextChoices):
    """The seats of the référencement commission (arrêté of 24 February 2022)."""

    CO_CHAIR_DNS = "copresident_dns", _("Coprésidence — délégation au numérique en santé")
    CO_CHAIR_CNAM = "copresident_cnam", _("Coprésidence — Caisse nationale de l'Assurance Maladie")
    CITIZEN = "usager", _("Usager")
    USERS_REPRESENTATIVE = "representant_usagers", _("Représentant des usagers")
    EXPERT_MEDICAL = "expert_medical", _("Expert médical")
    EXPERT_ETHICS = "expert_ethique", _("Expert protection des données et éthique")
    EXPERT_SECURITY = "expert_securite", _("Expert sécurité et interopérabilité")
    EXPERT_INDUSTRY = "expert_industrie", _("Expert industrie de la e-santé")


class CommissionMember(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="commission_member")
    seat = models.CharField(_("siège"), max_length=32, choices=CommissionSeat.choices)

    class Meta:
        verbose_name = _("membre de la commission")
        verbose_name_plural = _("membres de la commission")

    def __str__(self) -> str:
        return f"{self.user.display_name} — {self.get_seat_display()}"


class Notification(models.Model):
    """A message shown in the account's notification centre (and, when asked, also sent by e-mail)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    # The space it speaks of (a parent is notified about their child's space).
    citizen = models.ForeignKey(Citizen, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("titre"), max_length=200)
    body = models.TextField(_("message"), max_length=2000)
    link = models.CharField(_("lien"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("reçue le"), auto_now_add=True)
    read_at = models.DateTimeField(_("lue le"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "-id"], name="notification_user"),
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.title
