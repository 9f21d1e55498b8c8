"""Every table, imported in one place so Alembic and the tests see them all.

Add one import line per capability that owns tables.
"""

from callcenter.auth.models import AuditEntry, RevokedToken, Skill, User  # noqa: F401
from callcenter.acd.models import AgentInterval, CallRecord, Queue, RingAttempt  # noqa: F401
from callcenter.ami.models import QueueLogEntry  # noqa: F401
from callcenter.crm.models import CallbackTask, Customer, CustomerPhone, Ticket  # noqa: F401
from callcenter.hooks.models import QueueHours, RouteDecision, RouteRule, SurveyResponse  # noqa: F401
from callcenter.qa.models import Annotation, Assignment, Evaluation, QaForm, RecordingPeaks  # noqa: F401
from callcenter.realtime.models import RealtimeSetting  # noqa: F401
from callcenter.teams.models import Team, TeamLead, TeamMember  # noqa: F401
from callcenter.spool import SpoolApplied  # noqa: F401
from callcenter.outbound.models import Arrear, Campaign, CampaignContact, Dial, DncEntry, ListImport, Script  # noqa: F401
from callcenter.reports.models import AgentDay, AgentFact, AgentPauseDay, AgentPauseFact, Indicator, ManualFigure, QueueDay, QueueFact  # noqa: F401
from callcenter.cluster.models import ClusterLease  # noqa: F401
from callcenter.workorders.models import Department, DepartmentMember, EscalationRun, RectificationNotice, Task, TimelineEntry, WorkOrder  # noqa: F401
