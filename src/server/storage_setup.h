#pragma once

// Opening the configured storage backend (SIRR_STORAGE) for sirrd and its tools: SQLite in the
// data directory, or PostgreSQL (SIRR_DATABASE_URL, password from SIRR_DATABASE_PASSWORD_FILE or
// libpq's passfile, SIRR_DATABASE_POOL readers, this node's id). Errors are one line naming the
// setting at fault; the URL is never repeated (it may hold a password).

#include <memory>
#include <string>

#include "server/server.h"
#include "storage/storage.h"

namespace sirr::server {

struct OpenedStorage {
  std::unique_ptr<storage::Storage> storage;
  std::string where;  // "SQLite database PATH" or "PostgreSQL at HOST:PORT (node ID)"
  bool postgres = false;
  std::string node_id;  // PostgreSQL only
};

// The data directory must exist (it holds the node id file and the SQLite database).
StatusOr<OpenedStorage> OpenStorage(const ServerConfig& config);

// This node's id: SIRR_NODE_ID, else DATA_DIR/node-id (created once: "node-" + 12 hex digits).
StatusOr<std::string> NodeId(const ServerConfig& config);

}  // namespace sirr::server
