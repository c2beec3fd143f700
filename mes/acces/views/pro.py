"""Professionals' entry point."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from mes.acces.policy import role_required
from mes.comptes.models import ProfessionalProfile, Role


@role_required(Role.PROFESSIONAL)
def pro_home(request: HttpRequest) -> HttpResponse:
    profile = ProfessionalProfile.objects.filter(user=request.user).first()
    return render(request, "pro/home.html", {"profile": profile})
