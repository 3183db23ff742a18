#pragma once

// Building audit events for requests: the principal is named by its id ("admin",
// "token:<id>", a JWT subject), never by the credential it presented.

#include <string_view>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "core/principal.h"
#include "storage/storage.h"

namespace sirr::core {

inline audit::Event NewEvent(const RequestContext& ctx, std::string_view action,
                             std::string_view outcome, const storage::VaultRow* vault = nullptr) {
  audit::Event e;
  e.action = std::string(action);
  e.outcome = std::string(outcome);
  e.request_id = ctx.request_id;
  e.principal = ctx.principal.id;
  e.client = ctx.client;
  if (vault) {
    e.vault_id = vault->id;
    e.vault_name = vault->name;
  }
  return e;
}

// The audit outcome for a failed (or successful) operation.
std::string_view OutcomeOf(const Status& st);

// Audit before commit (DESIGN.md §7, docs/formats.md "audit journal"): the record of a state
// change is handed to the storage with the write and committed in its transaction. Records of
// failed writes and of reads that change nothing are appended to the log directly.
inline storage::JournalEntry JournalEntryOf(const audit::Event& e, const Clock& clock) {
  return storage::JournalEntry{0, clock.NowMillis(), audit::EventFields(e)};
}
// The journal of a write whose records are known before it runs.
inline storage::Journal JournalOf(audit::Event e, const Clock& clock);
// The journal of a write the server makes by itself (principal "system").
inline storage::Journal SystemJournal(std::string_view action, std::string detail,
                                      const Clock& clock) {
  audit::Event e;
  e.action = std::string(action);
  e.outcome = "success";
  e.principal = "system";
  e.detail = std::move(detail);
  return JournalOf(std::move(e), clock);
}
inline storage::Journal JournalOf(audit::Event e, const Clock& clock) {
  return [e = std::move(e), &clock](const storage::JournalContext&) {
    return std::vector<storage::JournalEntry>{JournalEntryOf(e, clock)};
  };
}

}  // namespace sirr::core
