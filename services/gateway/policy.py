"""Who may do what at the HTTP edge: each action of DESIGN §4 with the service that owns it and the roles
allowed (DESIGN §1). Which reports an officer may touch (their agency's scope) is tracking's check."""
from collections import namedtuple

OFFICER_ROLES = frozenset({"national_admin", "agency_admin", "agency_officer", "supervisor"})

Action = namedtuple("Action", "owner name roles")

# Path segment of POST /api/v1/reports/{id}/<segment> → the action. Reporter actions are in REPORTER_ACTIONS.
OFFICER_ACTIONS = {
    "verify": Action("routing", "verify", frozenset({"national_admin"})),
    "reject": Action("routing", "reject", frozenset({"national_admin"})),
    "dispose": Action("routing", "dispose", frozenset({"national_admin", "agency_admin"})),
    "decline": Action("routing", "decline", frozenset({"agency_admin"})),
    "followups": Action("tracking", "followup", frozenset({"agency_admin", "agency_officer"})),
    "request-info": Action("tracking", "request_info", frozenset({"agency_admin", "agency_officer"})),
    "complete": Action("tracking", "complete", frozenset({"agency_admin", "agency_officer"})),
    "reopen": Action("tracking", "reopen", frozenset({"national_admin"})),
    "archive": Action("tracking", "archive", frozenset({"national_admin"})),
}

# With X-Access-Code instead of a token; `reopen` is the reporter's when no token is sent.
REPORTER_ACTIONS = {"replies": "reply", "rating": "rate", "reopen": "reopen"}

READERS = {
    "officer_views": OFFICER_ROLES,
    "notifications": frozenset({"national_admin"}),
    "audit": frozenset({"national_admin", "supervisor"}),
    "notification_templates": frozenset({"national_admin"}),
    "calendar": OFFICER_ROLES,
    # the web console's pages (services/gateway/web.py)
    "oversight": frozenset({"national_admin", "supervisor"}),
    "agency_admin_pages": frozenset({"national_admin"}),
    "accounts": frozenset({"national_admin"}),
    "routing_rules": OFFICER_ROLES,
    "dead_events": frozenset({"national_admin"}),  # parked events (services/gateway/dead_event_routes.py)
}

# Administrative tasks outside a report's lifecycle, audited like the actions.
ADMIN_TASKS = {
    "update_notification_template": frozenset({"national_admin"}),
    "reset_notification_template": frozenset({"national_admin"}),
    "resend_notification": frozenset({"national_admin"}),
    "change_calendar": frozenset({"national_admin"}),
    "set_agency_contacts": frozenset({"national_admin"}),
    "create_account": frozenset({"national_admin"}),
    "disable_account": frozenset({"national_admin"}),
    "enable_account": frozenset({"national_admin"}),
    "add_unit": frozenset({"national_admin", "agency_admin"}),  # an agency admin: under its scope (routing checks)
    "save_routing_rules": frozenset({"national_admin"}),
    "replay_dead_events": frozenset({"national_admin"}),
}


def may_act(role, segment):
    action = OFFICER_ACTIONS.get(segment)
    return action is not None and role in action.roles


def may_read(role, what):
    return role in READERS[what]


def may_do(role, task):
    return role in ADMIN_TASKS.get(task, ())
