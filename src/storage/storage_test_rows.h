#pragma once

// Test-only: the rows the storage tests start from (one keyring version, vault "vid") and a
// secret row builder, shared by the contract suite and the backends' own tests.

#include <cstdlib>
#include <functional>
#include <optional>
#include <string>

#include "storage/postgres/pg_conn.h"
#include "storage/storage.h"

namespace sirr::storage::testing {

inline Status InitializeTestInstance(Storage& db) {
  KeyringRow key{1, Bytes(8, 1), "active", 1, 1, Bytes(40, 2), {}};
  VaultRow vault{"vid", "default", "", 1, Bytes(70, 3), ""};
  return db.InitializeInstance(key, vault);
}

// A live secret in vault "vid" created at t=100 with the value {1, 2, 3}.
inline SecretRow TestSecret(const std::string& id, const std::string& name,
                            std::optional<int64_t> reads = std::nullopt,
                            std::optional<int64_t> expires = std::nullopt) {
  SecretRow r;
  r.id = id;
  r.vault_id = "vid";
  r.name = name;
  r.created_at = 100;
  r.expires_at = expires;
  r.max_reads = reads;
  r.reads_remaining = reads;
  r.value = Bytes{1, 2, 3};
  return r;
}

// The PostgreSQL server the tests may use (scripts/test-pg-storage.sh starts one and sets it),
// or nullopt.
inline std::optional<std::string> PostgresTestUrl() {
  const char* url = std::getenv("SIRR_TEST_DATABASE_URL");
  if (!url || !*url) return std::nullopt;
  return std::string(url);
}

// A database named after `name` on that server (created when missing): its URL.
inline StatusOr<std::string> PostgresTestDatabase(const std::string& name) {
  auto url = PostgresTestUrl();
  if (!url) return UnavailableError("SIRR_TEST_DATABASE_URL is not set");
  // Identifiers are at most 63 bytes: a hash of the (long) name.
  const std::string db = "t_" + std::to_string(std::hash<std::string>()(name));
  SIRR_ASSIGN_OR_RETURN(auto c, PgConnection::Connect({*url, nullptr, "sirr-test"}));
  SIRR_ASSIGN_OR_RETURN(auto r, c->Query("SELECT count(*) FROM pg_database WHERE datname = $1",
                                         PgParams().Add(std::string_view(db))));
  if (r.Int(0, 0) == 0) SIRR_RETURN_IF_ERROR(c->Exec("CREATE DATABASE " + db));
  const size_t slash = url->rfind('/');
  const size_t query = url->find('?', slash);
  return url->substr(0, slash + 1) + db + (query == std::string::npos ? "" : url->substr(query));
}

}  // namespace sirr::storage::testing
