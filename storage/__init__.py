"""dreambot's SQLite store: generations, the spend ledger, caps/limits and moderators' settings."""

from storage.db import LATEST_VERSION, StoreError
from storage.errors import ReserveRefused, UnknownGeneration
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
    Spender,
    Status,
)
from storage.store import Store

__all__ = [
    "FINAL_STATUSES", "LATEST_VERSION", "OPEN_STATUSES", "AuditEntry", "DaySpend", "Generation", "GuildSettings",
    "HistoryEntry", "Kind", "LedgerEntry", "LedgerKind", "LedgerTotals", "MemberBudget", "MemberSettings", "Period",
    "ProviderTotals", "RefusalReason", "ReserveRefused", "Spender", "Status", "Store", "StoreError", "UnknownGeneration",
]
