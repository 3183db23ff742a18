#pragma once

// Building audit events for requests: the principal is named by its id ("admin",
// "token:<id>", a JWT subject), never by the credential it presented.

#include <string_view>

#include "audit/audit_log.h"
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

}  // namespace sirr::core
