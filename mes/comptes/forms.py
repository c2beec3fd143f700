"""Forms of the citizen's own pages: identification with the letter's code, credentials, closure."""

import re

from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from mes.comptes.codes import CODE_LENGTH, code_normalize
from mes.comptes.identifiers import validate_ins
from mes.comptes.models import Citizen, User
from mes.comptes.services.space import Identity

_CODE_CHARACTERS = re.compile(r"^[0-9A-HJKMNP-TV-Z]+$")


class IdentityCodeForm(forms.Form):
    """Either the matricule INS or the four birth traits, and the code of the letter or e-mail."""

    ins = forms.CharField(
        label=_("Matricule INS"),
        required=False,
        max_length=30,
        help_text=_(
            "15 caractères, inscrits sur votre courrier ou votre carte Vitale (exemple : 2 77 01 01 154 003 29)."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    birth_name = forms.CharField(
        label=_("Nom de naissance"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    first_name = forms.CharField(
        label=_("Premier prénom de naissance"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}),
    )
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        required=False,
        help_text=_("Le jour, le mois et l’année, par exemple 17/05/1980."),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
    )
    birthplace_code = forms.CharField(
        label=_("Code du lieu de naissance"),
        required=False,
        max_length=5,
        help_text=_(
            "Le code INSEE de votre commune de naissance, en 5 caractères, inscrit sur votre courrier "
            "(99 suivi du code du pays pour une naissance à l’étranger)."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    code = forms.CharField(
        label=_("Code de votre courrier ou de votre courriel"),
        max_length=20,
        help_text=_("10 caractères, par exemple AB12C-D34EF. Majuscules ou minuscules, avec ou sans tiret."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    TRAIT_FIELDS = ("birth_name", "first_name", "birth_date", "birthplace_code")

    def clean_ins(self) -> str:
        value = self.cleaned_data["ins"]
        return validate_ins(value) if value.strip() else ""

    def clean_birthplace_code(self) -> str:
        value = self.cleaned_data["birthplace_code"].strip().upper()
        if value and not re.fullmatch(r"[0-9][0-9AB][0-9]{3}", value):
            raise ValidationError(
                _("Le code du lieu de naissance comporte 5 caractères : des chiffres (et 2A ou 2B pour la Corse).")
            )
        return value

    def clean_code(self) -> str:
        code = code_normalize(self.cleaned_data["code"])
        if len(code) != CODE_LENGTH or not _CODE_CHARACTERS.match(code):
            raise ValidationError(
                _("Le code comporte 10 caractères (chiffres et lettres), comme indiqué sur votre courrier."),
                code="code_format",
            )
        return code

    def clean(self) -> dict:
        cleaned = super().clean()
        if "ins" in self.errors:
            return cleaned
        if not cleaned.get("ins"):
            missing = [name for name in self.TRAIT_FIELDS if not cleaned.get(name) and name not in self.errors]
            if not any(self.data.get(name) for name in self.TRAIT_FIELDS):
                raise ValidationError(
                    _(
                        "Saisissez votre matricule INS, ou bien votre nom de naissance, votre premier prénom, "
                        "votre date et votre lieu de naissance."
                    ),
                    code="identity_missing",
                )
            for name in missing:
                self.add_error(name, _("Ce champ est obligatoire si vous ne saisissez pas votre matricule INS."))
        return cleaned

    def identity(self) -> Identity:
        data = self.cleaned_data
        if data.get("ins"):
            return Identity(ins=data["ins"])
        return Identity(
            birth_name=data["birth_name"],
            first_name=data["first_name"],
            birth_date=data["birth_date"],
            birthplace_code=data["birthplace_code"],
        )


class ActivationCredentialsForm(forms.Form):
    email = forms.EmailField(
        label=_("Adresse électronique"),
        help_text=_("Elle vous servira à vous connecter. Format attendu : nom@domaine.fr"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        help_text=_("Au moins 12 caractères, ni trop courant, ni proche de votre nom ou de votre adresse."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, citizen: Citizen, **kwargs):
        self.citizen = citizen
        super().__init__(*args, **kwargs)

    def clean_email(self) -> str:
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        # The person has proved who they are with the letter's code: telling them the address is taken is safe.
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(
                _("Cette adresse électronique est déjà utilisée par un autre compte : choisissez-en une autre."),
                code="email_taken",
            )
        return email

    def clean(self) -> dict:
        cleaned = super().clean()
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
        elif password1:
            probe = User(
                email=cleaned.get("email", ""),
                first_name=self.citizen.display_first_name,
                last_name=self.citizen.birth_name,
            )
            try:
                password_validation.validate_password(password1, probe)
            except ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class SpaceCloseForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("Je comprends que mon espace sera fermé et que son contenu sera supprimé à la fin du délai indiqué."),
        error_messages={"required": _("Cochez la case pour confirmer la fermeture de votre espace.")},
    )
    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        help_text=_("Pour confirmer qu’il s’agit bien de vous."),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user: User, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError(_("Mot de passe incorrect."), code="password")
        return password
