"""Reads about accounts and roles."""

from django.db.models import Case, QuerySet, When

from mes.comptes.models import Citizen, CommissionMember, CommissionSeat, Organisation, User


def citizen_of(user: User) -> Citizen | None:
    return Citizen.objects.filter(user=user).first()


def represented_citizens(user: User) -> QuerySet[Citizen]:
    return Citizen.objects.filter(legal_representatives=user).order_by("birth_date")


def organisations_of(user: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(memberships__user=user).prefetch_related("memberships__user").order_by("name")


def commission_members() -> QuerySet[CommissionMember]:
    """Active members, in the order of the seats of the arrêté (co-chairs first), then by name."""
    seat_order = Case(*(When(seat=seat, then=index) for index, seat in enumerate(CommissionSeat.values)))
    return (
        CommissionMember.objects.select_related("user")
        .filter(user__is_active=True)
        .order_by(seat_order, "user__last_name")
    )


def commission_member_of(user: User) -> CommissionMember | None:
    return CommissionMember.objects.filter(user=user).first()
