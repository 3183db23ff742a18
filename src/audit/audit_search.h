#pragma once

// Reading the audit trail (GET /api/v1/admin/audit, `sirr audit search|tail`): records from
// the chain's files filtered by time, action, principal, target and outcome, in sequence
// order, a page at a time. A reader: it neither verifies MACs (`sirrd audit verify` does) nor
// changes anything. A partial last line (a write in progress) is skipped.
//
// Thread safety: Search is a pure function of the files; it may run while sirrd appends.

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace sirr::audit {

struct AuditQuery {
  int64_t after = 0;   // only records with seq > after (the page cursor)
  std::string since;   // RFC 3339 UTC ("2026-11-30T10:00:00Z"), inclusive; "" unbounded
  std::string until;   // exclusive
  std::string action;  // exact, or a prefix ending in '*' ("secret.*")
  std::string principal, outcome;
  std::string vault, secret, key;  // a name or an id, matched against the record's target
  int limit = 100;
  bool tail = false;  // the last `limit` matches (after `after`) instead of the first
};

struct AuditPage {
  std::vector<std::string> records;  // the matching lines (JSON objects), in sequence order
  int64_t next_after = 0;            // the cursor for the next page; 0 when there is none
};

// `files` in chain order (rotated files oldest first, then the current log).
StatusOr<AuditPage> Search(const std::vector<std::string>& files, const AuditQuery& query);

// InvalidArgument when a bound is not RFC 3339 UTC or the limit is out of 1..1000.
Status ValidateQuery(const AuditQuery& query);

}  // namespace sirr::audit
