"""The appariement page (``/o/authorize/``): the citizen consents, scope by scope, to pair a referenced app.

The toolkit's authorization view checks the request (client, exact redirect URI, PKCE S256, scopes within the
app's habilitation); this one adds what appariement needs:
- only a citizen with an open space may pair an app (other roles get a page saying so, nothing is sent back);
- the app names its own account of the person in ``external_id`` (required, refused as ``invalid_request``);
- the consent page lists each requested data category in plain French, each one can be unticked;
- what the citizen saw (client, redirect URI, requested scopes, external id) travels signed in the form, so a
  tampered form cannot widen the consent; the pairing is recorded in the same transaction as the code.
"""

from django import forms
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView
from oauthlib.oauth2.rfc6749 import errors

from mes.acces import scopes as app_scopes
from mes.acces.models import AppHabilitation
from mes.acces.policy import home_url_for, user_has_role
from mes.acces.services.pairings import external_id_problem, pairing_consent
from mes.comptes.models import Citizen, Role

SIGNING_SALT = "mes.api.authorize"
# How long the citizen may take to read the consent page before the request must be started again.
CONSENT_MAX_AGE_SECONDS = 30 * 60


class ConsentForm(AllowForm):
    scope = forms.CharField(required=False, widget=forms.HiddenInput())
    request_token = forms.CharField(widget=forms.HiddenInput())
    consent = forms.MultipleChoiceField(required=False, choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["consent"].choices = [(scope, label) for scope, label in app_scopes.all_scopes().items()]


def _refusal(request: HttpRequest, title: str, message: str, *, status: int = 403) -> HttpResponse:
    return render(
        request,
        "oauth2_provider/refused.html",
        {"title": title, "message": message, "home_url": home_url_for(request.user)},
        status=status,
    )


class PairingAuthorizationView(AuthorizationView):
    template_name = "oauth2_provider/authorize.html"
    form_class = ConsentForm

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated and not user_has_role(request.user, (Role.CITIZEN,)):
            return _refusal(
                request,
                _("Connexion d’un service impossible avec ce compte"),
                _(
                    "Seul un compte personnel Mon espace santé peut être connecté à un service référencé. "
                    "Déconnectez-vous, puis reconnectez-vous avec votre compte personnel."
                ),
            )
        return super().dispatch(request, *args, **kwargs)

    def _citizen(self) -> Citizen | None:
        return Citizen.objects.filter(user=self.request.user).first()

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if "login" in set(request.GET.get("prompt", "").split()):
            return self.handle_prompt_login()
        try:
            scopes, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        application = get_application_model().objects.get(client_id=credentials["client_id"])
        habilitation = AppHabilitation.objects.get(application=application)  # its scopes were validated against it
        external_id = request.GET.get("external_id", "")
        problem = external_id_problem(external_id)
        if problem:
            error = OAuthToolkitError(
                error=errors.InvalidRequestError(
                    description="external_id is required: 1 to 128 visible ASCII characters, no spaces.",
                    state=credentials.get("state"),
                ),
                redirect_uri=credentials["redirect_uri"],
            )
            return self.error_response(error, application)
        citizen = self._citizen()
        if citizen is None or not citizen.has_space:
            return _refusal(
                request,
                _("Connexion d’un service impossible"),
                _("Votre espace santé n’est pas ouvert : aucun service ne peut y être connecté."),
            )
        self.oauth2_data = {
            "scopes": scopes,
            "client_id": credentials["client_id"],
            "redirect_uri": credentials["redirect_uri"],
            "response_type": credentials["response_type"],
            "state": credentials["state"],
            "code_challenge": credentials.get("code_challenge"),
            "code_challenge_method": credentials.get("code_challenge_method"),
            "nonce": credentials.get("nonce"),
        }
        form = self.get_form(self.get_form_class())
        form.initial["request_token"] = signing.dumps(
            {
                "user": request.user.pk,
                "client_id": credentials["client_id"],
                "redirect_uri": credentials["redirect_uri"],
                "scopes": list(scopes),
                "external_id": external_id,
            },
            salt=SIGNING_SALT,
        )
        return self.render_to_response(self._context(form, application, habilitation, scopes))

    def _context(self, form, application, habilitation: AppHabilitation, scopes) -> dict:
        items = app_scopes.consent_items(scopes)
        return {
            "form": form,
            "application": application,
            "habilitation": habilitation,
            "openid": any(item.scope == app_scopes.OPENID for item in items),
            "data_items": [item for item in items if item.scope != app_scopes.OPENID],
            "shows_hidden_documents": "DocumentReference.r" in app_scopes.permissions(scopes),
        }

    def form_valid(self, form) -> HttpResponse:
        try:
            asked = signing.loads(
                form.cleaned_data["request_token"], salt=SIGNING_SALT, max_age=CONSENT_MAX_AGE_SECONDS
            )
        except signing.SignatureExpired:
            return _refusal(
                self.request,
                _("Demande expirée"),
                _("La demande de connexion a expiré. Retournez dans le service et recommencez la connexion."),
                status=400,
            )
        except signing.BadSignature:
            return _refusal(
                self.request, _("Demande invalide"), _("La demande de connexion a été modifiée."), status=400
            )
        if (
            asked["user"] != self.request.user.pk
            or asked["client_id"] != form.cleaned_data["client_id"]
            or asked["redirect_uri"] != form.cleaned_data["redirect_uri"]
        ):
            return _refusal(
                self.request, _("Demande invalide"), _("La demande de connexion a été modifiée."), status=400
            )
        requested = asked["scopes"]
        if not form.cleaned_data.get("allow"):
            form.cleaned_data["scope"] = " ".join(requested)
            return super().form_valid(form)
        ticked = [scope for scope in form.cleaned_data["consent"] if app_scopes.covered(scope, requested)]
        consented = app_scopes.normalise([*ticked, *([app_scopes.OPENID] if app_scopes.OPENID in requested else [])])
        form.cleaned_data["scope"] = " ".join(consented)
        application = get_application_model().objects.get(client_id=asked["client_id"])
        habilitation = AppHabilitation.objects.filter(application=application).first()
        citizen = self._citizen()
        if habilitation is None or citizen is None:
            return _refusal(self.request, _("Connexion d’un service impossible"), _("Ce service n’est pas habilité."))
        try:
            with transaction.atomic():
                pairing_consent(
                    actor=self.request.user,
                    citizen=citizen,
                    habilitation=habilitation,
                    external_id=asked["external_id"],
                    scopes=consented,
                )
                response = super().form_valid(form)
                if response.status_code not in (301, 302) or "code=" not in response.get("Location", ""):
                    # The toolkit refused the request (answered with an error): no pairing without a code.
                    transaction.set_rollback(True)
                return response
        except (PermissionDenied, ValidationError) as error:
            message = error.messages[0] if isinstance(error, ValidationError) else str(error)
            return _refusal(self.request, _("Connexion d’un service impossible"), message)

    def form_invalid(self, form) -> HttpResponse:
        return _refusal(
            self.request,
            _("Demande invalide"),
            _("La demande de connexion est incomplète. Retournez dans le service et recommencez la connexion."),
            status=400,
        )
