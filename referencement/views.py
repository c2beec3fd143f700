"""Editors' portal and commission pages."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mes.acces.policy import role_required
from mes.comptes.models import Role
from mes.comptes.selectors import commission_member_of, commission_members, organisations_of


@role_required(Role.EDITOR)
def editor_home(request: HttpRequest) -> HttpResponse:
    return render(request, "editeurs/home.html", {"organisations": organisations_of(request.user)})


@role_required(Role.COMMISSION)
def commission_home(request: HttpRequest) -> HttpResponse:
    context = {
        "member": commission_member_of(request.user),
        "members": commission_members(),
    }
    return render(request, "commission/home.html", context)
