"""The Django admin, for administrators only, behind allauth's sign-in (and so its second factor)."""

from functools import wraps

from allauth.account.decorators import secure_admin_login
from django.contrib import admin

from mes.acces.policy import forbidden, user_has_role
from mes.comptes.models import Role


class MesAdminSite(admin.AdminSite):
    site_header = "Mon espace santé — administration"
    site_title = "Administration Mon espace santé"
    index_title = "Administration"
    site_url = "/connexion/suite/"  # "Voir le site" leads to the administrator's own home, not the citizens' one

    def has_permission(self, request) -> bool:
        return super().has_permission(request) and user_has_role(request.user, (Role.ADMIN,))

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(inner)
        def wrapper(request, *args, **kwargs):
            # A signed-in user of another role is refused outright rather than sent to a login page.
            if request.user.is_authenticated and not self.has_permission(request):
                return forbidden(request)
            return inner(request, *args, **kwargs)

        return wrapper

    def login(self, request, extra_context=None):
        return secure_admin_login(super().login)(request, extra_context)
