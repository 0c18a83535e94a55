"""Services: one module per use-case area, each call one unit of work.

view → service → engine → store → commit. A service locks the case it
changes (``SELECT … FOR UPDATE`` on PostgreSQL; the ``lock_version`` column
everywhere), restores the workflow on its version's cached spec, runs it, and
writes state, projections and audit events in one transaction. Services take
plain values and return frozen dataclasses (``engine.domain.views``).

Where things live: ``versions`` (deploy, list), ``intake`` (filing),
``tasks`` (a task's page, completing), ``queues`` (inbox tabs, claiming,
releasing and reassigning tasks), ``cases`` (the staff case page, unsealing),
``notes`` (staff notes), ``duplicates`` (likely duplicates), ``merges``
(merging duplicates under a parent, separating them), ``attachments``
(files: checks, storing, downloads),
``tracking`` (citizens), ``search`` (staff case search and its export),
``knowledge`` (the knowledge base: articles, their search),
``callcenter`` (caller lookup at phone intake, the phone line's hours),
``worker`` (timers), ``days_off``, ``dashboard``, ``accounts``, ``entities``
and ``people`` (the admin pages), ``auditing`` (the audit log and its
viewer), ``design``
(the designer area), ``mail`` (the outbox), ``notify`` (mail texts from
templates, in the reader's language);
``steps`` records a workflow step for all of them and ``common`` holds what
they share. The most used calls are re-exported here, so callers write
``services.open_case(...)``.
"""

from engine.services.attachments import get_attachment, unseal_attachment
from engine.services.callcenter import lookup_caller, phone_line
from engine.services.case_links import open_link
from engine.services.cases import get_case, unseal_identity
from engine.services.common import may_do, visible_case
from engine.services.dashboard import dashboard
from engine.services.days_off import add_day_off, list_days_off, remove_day_off
from engine.services.duplicates import duplicate_candidates, merge_family
from engine.services.inbox import list_queue
from engine.services.intake import get_intake, open_case
from engine.services.knowledge import (
    article_form,
    article_query,
    create_article,
    edit_article,
    get_article,
    search_articles,
    set_published,
)
from engine.services.merges import merge_cases, unmerge_case
from engine.services.notes import add_note
from engine.services.queues import assign_task, bulk_assign, claim_task, release_task
from engine.services.search import (
    export_cases,
    search_cases,
    search_options,
)
from engine.services.search_criteria import case_query
from engine.services.tasks import (
    complete_citizen_task,
    complete_task,
    complete_tracked_task,
    get_task,
    list_tasks,
)
from engine.services.tracking import (
    citizen_attachment,
    track_case,
    tracked_attachment,
    tracked_case,
)
from engine.services.versions import (
    deploy_seed,
    deploy_version,
    list_case_types,
    list_versions,
)
from engine.services.worker import fire_due_timers, health

__all__ = [
    "add_day_off",
    "add_note",
    "article_form",
    "article_query",
    "assign_task",
    "bulk_assign",
    "case_query",
    "citizen_attachment",
    "claim_task",
    "complete_citizen_task",
    "complete_task",
    "complete_tracked_task",
    "create_article",
    "dashboard",
    "deploy_seed",
    "deploy_version",
    "duplicate_candidates",
    "edit_article",
    "export_cases",
    "fire_due_timers",
    "get_article",
    "get_attachment",
    "get_case",
    "get_intake",
    "get_task",
    "health",
    "list_case_types",
    "list_days_off",
    "list_queue",
    "list_tasks",
    "list_versions",
    "lookup_caller",
    "may_do",
    "merge_cases",
    "merge_family",
    "open_case",
    "open_link",
    "phone_line",
    "release_task",
    "remove_day_off",
    "search_articles",
    "search_cases",
    "search_options",
    "set_published",
    "track_case",
    "tracked_attachment",
    "tracked_case",
    "unmerge_case",
    "unseal_attachment",
    "unseal_identity",
    "visible_case",
]
