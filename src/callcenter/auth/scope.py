"""Who may see what: the one scope rule every capability asks.

The rule (docs/security.md, "Scope"):

* admin and qa: every queue and agent (what they may *do* is the role's
  business: QA reads recordings and evaluations, never customer edits);
* team lead: the agents who are members of the teams they lead now, the
  lead themself, and the queues those agents serve (their skills), plus
  the queues the lead has as skills (the queues they were put in charge
  of before teams existed, and where they take calls themselves);
* agent: themself, and the queues they serve.

A queue in scope gives its queue-level figures and the calls that went
through it; an agent in scope gives their state, their screen-pops and the
supervisor actions (listen, whisper, barge, pause, log out).  So a lead
sees on the wallboard the whole of the queues their agents work, but
spies only on their own people.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.auth.models import Role, Skill, User
from callcenter.teams.models import Team, TeamLead, TeamMember

UNRESTRICTED_ROLES = (Role.admin, Role.qa)


@dataclass(frozen=True, slots=True)
class Scope:
    """What one user may see.  `everything` short-cuts every check."""

    everything: bool = False
    teams: frozenset[int] = frozenset()
    users: frozenset[int] = frozenset()
    interfaces: frozenset[str] = frozenset()
    queues: frozenset[str] = frozenset()

    def has_queue(self, queue: str | None) -> bool:
        return self.everything or (queue is not None and queue in self.queues)

    def has_agent(self, interface: str | None) -> bool:
        return self.everything or (bool(interface) and interface in self.interfaces)

    def has_user(self, user_id: int | None) -> bool:
        return self.everything or (user_id is not None and user_id in self.users)

    def has_call(self, queue: str | None, agent: str | None) -> bool:
        """A call is in scope through its queue or the agent who took it."""
        return self.has_queue(queue) or self.has_agent(agent)

    def has_team(self, team_id: int | None) -> bool:
        return self.everything or (team_id is not None and team_id in self.teams)

    @property
    def queue_list(self) -> list[str]:
        return sorted(self.queues)

    @property
    def interface_list(self) -> list[str]:
        return sorted(self.interfaces)


EVERYTHING = Scope(everything=True)


def own_scope(user_id: int, interface: str | None, queues: tuple[str, ...] | list[str]) -> Scope:
    """An agent's scope: themself and their queues."""
    return Scope(users=frozenset({user_id}), interfaces=frozenset({interface} if interface else ()), queues=frozenset(queues))


def default_scope(role: Role, user_id: int, interface: str | None, queues: tuple[str, ...]) -> Scope:
    """The scope without the team tables (a principal built in code)."""
    if role in UNRESTRICTED_ROLES:
        return EVERYTHING
    return own_scope(user_id, interface, queues)


async def load_scope(session: AsyncSession, user: User) -> Scope:
    """The user's scope now, from users, skills and the team tables."""
    own_queues = tuple(s.queue for s in user.skills)
    if user.role in UNRESTRICTED_ROLES:
        return EVERYTHING
    if user.role != Role.team_lead:
        return own_scope(user.id, user.interface, own_queues)
    teams = set(
        (
            await session.execute(
                select(TeamLead.team_id).join(Team, Team.id == TeamLead.team_id).where(TeamLead.user_id == user.id, Team.active.is_(True))
            )
        ).scalars()
    )
    users, interfaces, queues = {user.id}, {user.interface} - {None}, set(own_queues)
    if teams:
        rows = (
            await session.execute(
                select(User.id, User.interface, Skill.queue)
                .join(TeamMember, TeamMember.user_id == User.id)
                .outerjoin(Skill, Skill.user_id == User.id)
                .where(TeamMember.team_id.in_(teams), TeamMember.to_at.is_(None))
            )
        ).all()
        for uid, iface, queue in rows:
            users.add(uid)
            if iface:
                interfaces.add(iface)
            if queue:
                queues.add(queue)
    return Scope(
        teams=frozenset(teams),
        users=frozenset(users),
        interfaces=frozenset(i for i in interfaces if i),
        queues=frozenset(queues),
    )
