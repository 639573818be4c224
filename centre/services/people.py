"""People and rights of a customer (CC-6, CC-11, ALL-1, ALL-3).

Who may do what: a person acting for a customer organisation with the *user management* right invites
colleagues and changes the rights, the state (active or not) and the membership of the organisation's
people; only an administrator changes an administrator, makes one or hands the role over. Administrators
have every right. Nobody acts for an organisation through a deactivated membership (``accounts.tenancy``).

The organisation always keeps an active administrator: a change that would take the last one away (demote,
deactivate, remove) is refused. Each service locks, in one statement and in id order, the organisation's
active administrators with the actor's and the target's memberships, and counts the administrators among
the rows it locked; so two administrators demoting each other at the same moment take turns, and the
second finds itself the last one (PostgreSQL re-reads a locked row that changed while it waited).

Every change writes a ``PeopleEvent`` in the same transaction, with the actor and the person's role, state
and rights before and after. Invitation mails go out after commit (``centre.tasks``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import Membership, Organisation, User, normalise_email
from core.tasking import enqueue_on_commit

from ..errors import CentreError
from ..models import Invitation, PeopleEvent

ADMIN = Membership.Role.ADMIN
MEMBER = Membership.Role.MEMBER
USER_MANAGEMENT = Membership.Right.USER_MANAGEMENT.value
ALL_RIGHTS = frozenset(Membership.Right.values)


def _rights(rights: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(rights)
    unknown = wanted - ALL_RIGHTS
    if unknown:
        raise CentreError("unknown_right", _("Choose rights from the list."), field="rights")
    return wanted


def _state(membership: Membership) -> dict[str, Any]:
    """What the history keeps of a person at one moment (no secret)."""
    return {"role": membership.role, "active": membership.active, "rights": sorted(membership.rights)}


def _set_rights(membership: Membership, rights: frozenset[str]) -> list[str]:
    """Write the right columns; the names of the columns written (for ``update_fields``)."""
    fields = []
    for name in ALL_RIGHTS:
        field = Membership.right_field(name)
        setattr(membership, field, name in rights)
        fields.append(field)
    return fields


def account_get_or_create(email: str, create: Callable[[], User]) -> tuple[User, bool]:
    """The account of ``email`` (normalised), made by ``create`` when there is none, and whether it was
    made here. An account made at the same moment by another request (an invitation, a registration, an
    order's locker account) is taken as it is, as one found."""
    user = User.objects.filter(email=email).first()
    if user is not None:
        return user, False
    try:
        with transaction.atomic():
            return create(), True
    except IntegrityError:
        return User.objects.get(email=email), False


def _record(
    kind: str,
    *,
    organisation: Organisation,
    actor: Any,
    person_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    **extra: Any,
) -> PeopleEvent:
    return PeopleEvent.objects.create(
        kind=kind,
        organisation=organisation,
        actor_id=actor.pk,
        person_id=person_id,
        data={"before": before, "after": after, **extra},
    )


def _lock(
    organisation: Organisation, *, actor: Any, membership_id: int | None = None
) -> tuple[Membership, Membership | None, list[Membership]]:
    """Lock the organisation's active administrators, the actor's membership and the target's, and check
    that the actor may manage people here. Returns the actor's membership, the target's (None if not
    asked for) and the active administrators, as they are once locked."""
    if not organisation.is_customer:
        raise CentreError("not_allowed", _("People are managed in customer organisations only."))
    wanted = Q(role=ADMIN, active=True) | Q(user_id=actor.pk)
    if membership_id is not None:
        wanted |= Q(pk=membership_id)
    rows = list(
        Membership.objects.for_org(organisation)
        .filter(wanted)
        .select_related("user")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    mine = next((m for m in rows if m.user_id == actor.pk), None)
    if mine is None or not mine.has_right(USER_MANAGEMENT):
        raise CentreError("not_allowed", _("You may not manage this organisation's people."))
    target = None
    if membership_id is not None:
        target = next((m for m in rows if m.pk == membership_id), None)
        if target is None:
            raise CentreError("not_found", _("There is no such person in your organisation."))
    admins = [m for m in rows if m.role == ADMIN and m.active]
    return mine, target, admins


def _last_admin_error(target: Membership, field: str | None) -> CentreError:
    return CentreError(
        "last_administrator",
        _(
            "%(person)s is the organisation's last administrator. Make someone else an administrator "
            "first, or hand the role over."
        )
        % {"person": target.user.email},
        field=field,
    )


def _admin_only_error(field: str | None = "role") -> CentreError:
    return CentreError(
        "not_an_administrator",
        _("Only an administrator may make, change or remove an administrator."),
        field=field,
    )


def person_invite(
    *,
    organisation: Organisation,
    actor: Any,
    email: str,
    rights: Iterable[str],
    full_name: str = "",
) -> Membership:
    """Add the person with this address to ``organisation`` with ``rights`` (CC-6), and mail them after
    commit: a set-password link if their account has no password yet (a new account is made without
    one), else a note that they were added, with a login link. An existing account is reused as it is:
    its password and name are never changed. Someone already in the list (active or not) is refused."""
    email = normalise_email(email)
    if not email or "@" not in email:
        raise CentreError("invalid_email", _("Enter a valid e-mail address."), field="email")
    granted = _rights(rights)
    with transaction.atomic():
        _lock(organisation, actor=actor)
        user, new_account = account_get_or_create(
            email, lambda: User.objects.create_user(email=email, full_name=(full_name or "").strip()[:200])
        )
        if not new_account and Membership.objects.for_org(organisation).filter(user=user).exists():
            raise _already_member()
        membership = Membership(user=user, organisation=organisation, role=MEMBER)
        _set_rights(membership, granted)
        try:
            with transaction.atomic():
                membership.save()
        except IntegrityError:
            raise _already_member() from None
        _record(
            PeopleEvent.Kind.INVITED,
            organisation=organisation,
            actor=actor,
            person_id=user.pk,
            before=None,
            after=_state(membership),
            new_account=new_account,
        )
        invitation = Invitation.objects.create(organisation=organisation, person=user, invited_by_id=actor.pk)
        enqueue_on_commit("centre.tasks.send_invitation", invitation.pk)
    return membership


def _already_member() -> CentreError:
    return CentreError(
        "already_member",
        _(
            "This person is already in your organisation's list: change their rights or reactivate "
            "them there."
        ),
        field="email",
    )


def person_update(
    *,
    organisation: Organisation,
    actor: Any,
    membership_id: int,
    role: str | None = None,
    active: bool | None = None,
    rights: Iterable[str] | None = None,
) -> Membership:
    """Change a person's role (administrator or member), state (active or not) and rights in one go; what
    is None stays as it is. One event per aspect that changed. An administrator's rights are all of them;
    one who stops being an administrator keeps the rights given here (by default every right they had).
    Refused: a change that leaves the organisation without an active administrator, and a non-administrator
    changing an administrator or making one."""
    with transaction.atomic():
        mine, target, admins = _lock(organisation, actor=actor, membership_id=membership_id)
        assert target is not None
        new_role = target.role if role is None else role
        if new_role not in (ADMIN, MEMBER):
            raise CentreError("invalid_role", _("Choose administrator or member."), field="role")
        new_active = target.active if active is None else bool(active)
        granted = target.rights if rights is None else _rights(rights)
        if (target.role == ADMIN or new_role == ADMIN) and not mine.is_admin:
            changing = new_role != target.role or new_active != target.active or granted != target.rights
            if changing:
                raise _admin_only_error("role")
        if (
            target.role == ADMIN
            and target.active
            and (new_role != ADMIN or not new_active)
            and len(admins) <= 1
        ):
            raise _last_admin_error(target, "role" if new_role != ADMIN else "active")

        before = _state(target)
        kinds = []
        if new_role != target.role:
            kinds.append(PeopleEvent.Kind.PROMOTED if new_role == ADMIN else PeopleEvent.Kind.DEMOTED)
        if new_active != target.active:
            kinds.append(PeopleEvent.Kind.REACTIVATED if new_active else PeopleEvent.Kind.DEACTIVATED)
        target.role, target.active = new_role, new_active
        fields = ["role", "active", *_set_rights(target, ALL_RIGHTS if new_role == ADMIN else granted)]
        after = _state(target)
        if before["rights"] != after["rights"] and PeopleEvent.Kind.PROMOTED not in kinds:
            kinds.append(PeopleEvent.Kind.RIGHTS_CHANGED)
        if not kinds:
            return target
        target.save(update_fields=fields)
        for kind in kinds:
            _record(
                kind,
                organisation=organisation,
                actor=actor,
                person_id=target.user_id,
                before=before,
                after=after,
            )
    return target


def person_rights_set(
    *, organisation: Organisation, actor: Any, membership_id: int, rights: Iterable[str]
) -> Membership:
    """Give a member exactly ``rights`` (CC-6)."""
    return person_update(organisation=organisation, actor=actor, membership_id=membership_id, rights=rights)


def person_deactivate(*, organisation: Organisation, actor: Any, membership_id: int) -> Membership:
    """The person keeps their history but acts for the organisation no more (never the last administrator)."""
    return person_update(organisation=organisation, actor=actor, membership_id=membership_id, active=False)


def person_reactivate(*, organisation: Organisation, actor: Any, membership_id: int) -> Membership:
    return person_update(organisation=organisation, actor=actor, membership_id=membership_id, active=True)


def person_promote(*, organisation: Organisation, actor: Any, membership_id: int) -> Membership:
    """Make the person an administrator (every right); administrators only."""
    return person_update(organisation=organisation, actor=actor, membership_id=membership_id, role=ADMIN)


def person_demote(*, organisation: Organisation, actor: Any, membership_id: int) -> Membership:
    """The person stops being an administrator and keeps every right (take rights away separately);
    never the last administrator."""
    return person_update(organisation=organisation, actor=actor, membership_id=membership_id, role=MEMBER)


def admin_hand_over(*, organisation: Organisation, actor: Any, membership_id: int) -> Membership:
    """The acting administrator hands the role to an active colleague (CC-6) and becomes a member with
    every right (take rights away separately). Both changes are recorded."""
    with transaction.atomic():
        mine, target, _admins = _lock(organisation, actor=actor, membership_id=membership_id)
        assert target is not None
        if not mine.is_admin:
            raise _admin_only_error(None)
        if target.pk == mine.pk:
            raise CentreError("hand_over_to_self", _("Choose a colleague to hand the role to."))
        if not target.active:
            raise CentreError(
                "inactive", _("Reactivate this person before handing them the role."), field="active"
            )
        for membership, role, kind in (
            (target, ADMIN, PeopleEvent.Kind.PROMOTED),
            (mine, MEMBER, PeopleEvent.Kind.HANDED_OVER),
        ):
            before = _state(membership)
            membership.role = role
            fields = ["role", *_set_rights(membership, ALL_RIGHTS)]
            membership.save(update_fields=fields)
            _record(
                kind,
                organisation=organisation,
                actor=actor,
                person_id=membership.user_id,
                before=before,
                after=_state(membership),
                hand_over_to=target.user.email,
            )
    return target


def person_remove(*, organisation: Organisation, actor: Any, membership_id: int) -> None:
    """Take the person off the organisation's list (their account and the history stay); never the last
    active administrator. Deactivating keeps them listed; removing does not."""
    with transaction.atomic():
        mine, target, admins = _lock(organisation, actor=actor, membership_id=membership_id)
        assert target is not None
        if target.role == ADMIN and not mine.is_admin:
            raise _admin_only_error(None)
        if target.role == ADMIN and target.active and len(admins) <= 1:
            raise _last_admin_error(target, None)
        _record(
            PeopleEvent.Kind.REMOVED,
            organisation=organisation,
            actor=actor,
            person_id=target.user_id,
            before=_state(target),
            after=None,
        )
        Membership.objects.filter(pk=target.pk).delete()
