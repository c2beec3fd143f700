"""Reads about accounts and roles."""

from django.db.models import QuerySet

from mes.comptes.models import Citizen, CommissionMember, Organisation, User


def citizen_of(user: User) -> Citizen | None:
    return Citizen.objects.filter(user=user).first()


def represented_citizens(user: User) -> QuerySet[Citizen]:
    return Citizen.objects.filter(legal_representatives=user).order_by("birth_date")


def organisations_of(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(memberships__user=user).prefetch_related("memberships__user").order_by("name")


def commission_members() -> QuerySet[CommissionMember]:
    return (
        CommissionMember.objects.select_related("user").filter(user__is_active=True).order_by("seat", "user__last_name")
    )
