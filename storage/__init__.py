"""dreambot's SQLite store: generations, the spend ledger, caps/limits and moderators' settings."""

from storage.db import LATEST_VERSION, StoreError
from storage.errors import DuplicateRequest, ReserveRefused, UnknownGeneration
from storage.models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    AuditEntry,
    DaySpend,
    Generation,
    GuildSettings,
    HistoryEntry,
    Kind,
    LedgerEntry,
    LedgerKind,
    LedgerTotals,
    MemberBudget,
    MemberSettings,
    Period,
    ProviderTotals,
    RefusalReason,
    ReplyMode,
    Spender,
    Status,
)
from storage.store import Store

__all__ = [
    "DuplicateRequest", "FINAL_STATUSES", "LATEST_VERSION", "OPEN_STATUSES", "AuditEntry", "DaySpend", "Generation", "GuildSettings",
    "HistoryEntry", "Kind", "LedgerEntry", "LedgerKind", "LedgerTotals", "MemberBudget", "MemberSettings", "Period",
    "ProviderTotals", "RefusalReason", "ReplyMode", "ReserveRefused", "Spender", "Status", "Store", "StoreError", "UnknownGeneration",
]
