#pragma once

// Connects the storage's audit journal to the audit log (DESIGN.md §7 "audit before commit"):
// records committed with their change go to the log file in commit order, and a write that
// changes state is refused while the log cannot take records.
//
// Thread safety: as AuditLog (thread-safe).

#include "audit/audit_log.h"
#include "storage/storage.h"

namespace sirr::core {

class AuditJournal final : public storage::JournalSink {
 public:
  explicit AuditJournal(audit::AuditLog& log) : log_(log) {}

  Status Ready() override { return log_.Ready(); }
  void Committed(std::vector<storage::JournalEntry> entries) override {
    std::vector<audit::Committed> records;
    records.reserve(entries.size());
    for (auto& e : entries) records.push_back({e.id, e.time_ms, std::move(e.fields)});
    log_.AppendCommitted(std::move(records));
  }

  // For AuditLog::Unseal: the committed records the file may lack.
  static audit::JournalReader Reader(storage::Storage& storage) {
    return [&storage](int64_t after) -> StatusOr<std::vector<audit::Committed>> {
      SIRR_ASSIGN_OR_RETURN(auto rows, storage.ReadJournal(after, 1000));
      std::vector<audit::Committed> out;
      out.reserve(rows.size());
      for (auto& r : rows) out.push_back({r.id, r.time_ms, std::move(r.fields)});
      return out;
    };
  }

 private:
  audit::AuditLog& log_;
};

}  // namespace sirr::core
