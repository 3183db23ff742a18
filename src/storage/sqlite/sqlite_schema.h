#pragma once

// The SQLite schema: numbered migrations tracked in PRAGMA user_version. Not a public interface.

#include <vector>

#include "base/status.h"
#include "storage/sqlite/sqlite_db.h"

namespace sirr::storage {

// Entry i brings the schema from version i to i + 1.
const std::vector<const char*>& Migrations();
// Applies the pending migrations, each in its own transaction with a foreign key check.
// FailedPrecondition for a negative or newer schema version than this build knows.
Status Migrate(Connection& c);

}  // namespace sirr::storage
