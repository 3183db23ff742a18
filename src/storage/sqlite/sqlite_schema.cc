#include "storage/sqlite/sqlite_schema.h"

#include <iterator>
#include <string>

namespace sirr::storage {

namespace {

// Numbered migrations: entry i brings the schema from version i to i + 1. Append only: a
// released migration is never edited.
const char* const kMigrationSql[] = {
    // 1: keyring, vaults, secrets, audit head.
    R"SQL(
CREATE TABLE keyring (
  version    INTEGER PRIMARY KEY,
  key_id     BLOB NOT NULL UNIQUE,
  state      TEXT NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  key_check  BLOB NOT NULL
);
CREATE TABLE vaults (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  wrapped_key BLOB NOT NULL
);
CREATE TABLE secrets (
  id              TEXT PRIMARY KEY,
  vault_id        TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  type            TEXT NOT NULL DEFAULT '',
  description     TEXT NOT NULL DEFAULT '',
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER,
  max_reads       INTEGER,
  reads_remaining INTEGER,
  state           INTEGER NOT NULL DEFAULT 0,
  gone_at         INTEGER,
  value           BLOB,
  UNIQUE (vault_id, name)
);
CREATE INDEX secrets_live_expiry ON secrets(expires_at) WHERE state = 0 AND expires_at IS NOT NULL;
CREATE INDEX secrets_gone ON secrets(gone_at) WHERE state != 0;
CREATE TABLE audit_head (
  id  INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  mac BLOB NOT NULL
);
)SQL",
    // 2: vault owners (names unique per owner), API tokens and their vault grants.
    // Rebuilds `vaults` to replace UNIQUE(name) by UNIQUE(owner, name); runs with foreign
    // keys off (see Migrate) so that dropping the old table does not cascade to secrets.
    R"SQL(
CREATE TABLE vaults_v2 (
  id          TEXT PRIMARY KEY,
  owner       TEXT NOT NULL DEFAULT '',
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  wrapped_key BLOB NOT NULL,
  UNIQUE (owner, name)
);
INSERT INTO vaults_v2 (id, owner, name, description, created_at, wrapped_key)
  SELECT id, '', name, description, created_at, wrapped_key FROM vaults;
DROP TABLE vaults;
ALTER TABLE vaults_v2 RENAME TO vaults;
CREATE TABLE tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  hash         BLOB NOT NULL UNIQUE,
  capabilities TEXT NOT NULL,
  all_vaults   INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  created_by   TEXT NOT NULL,
  expires_at   INTEGER,
  max_uses     INTEGER,
  uses         INTEGER NOT NULL DEFAULT 0,
  revoked_at   INTEGER
);
CREATE TABLE token_vaults (
  token_id TEXT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  vault_id TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  PRIMARY KEY (token_id, vault_id)
);
CREATE INDEX token_vaults_vault ON token_vaults(vault_id);
)SQL",
    // 3: keys (private material sealed under the vault key).
    R"SQL(
CREATE TABLE keys (
  id          TEXT PRIMARY KEY,
  vault_id    TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  spec        TEXT NOT NULL,
  type        TEXT NOT NULL,
  usage       TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  public_key  BLOB NOT NULL,
  material    BLOB NOT NULL,
  UNIQUE (vault_id, name)
);
CREATE INDEX keys_vault_created ON keys(vault_id, created_at);
)SQL",
    // 4: HD wallet keys (BIP39): the next BIP44 index to use and the last one used.
    R"SQL(
ALTER TABLE keys ADD COLUMN hd_next_index INTEGER NOT NULL DEFAULT 0;
ALTER TABLE keys ADD COLUMN hd_last_index INTEGER;
)SQL",
    // 5: the audit journal: audit records committed with the change they describe, kept
    // until the audit file holding them is synced (docs/formats.md).
    R"SQL(
CREATE TABLE audit_journal (
  id      INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  fields  TEXT NOT NULL
);
)SQL",
    // 6: key names are display labels, not unique within a vault (Provide's clients create
    // many keys named alike and address them by id); name lookups use an index and refuse
    // an ambiguous name (docs/api.md).
    R"SQL(
CREATE TABLE keys_v6 (
  id            TEXT PRIMARY KEY,
  vault_id      TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  description   TEXT NOT NULL DEFAULT '',
  spec          TEXT NOT NULL,
  type          TEXT NOT NULL,
  usage         TEXT NOT NULL,
  created_at    INTEGER NOT NULL,
  public_key    BLOB NOT NULL,
  material      BLOB NOT NULL,
  hd_next_index INTEGER NOT NULL DEFAULT 0,
  hd_last_index INTEGER
);
INSERT INTO keys_v6 (id, vault_id, name, description, spec, type, usage, created_at, public_key,
                     material, hd_next_index, hd_last_index)
  SELECT id, vault_id, name, description, spec, type, usage, created_at, public_key, material,
         hd_next_index, hd_last_index FROM keys;
DROP TABLE keys;
ALTER TABLE keys_v6 RENAME TO keys;
CREATE INDEX keys_vault_created ON keys(vault_id, created_at);
CREATE INDEX keys_vault_name ON keys(vault_id, name);
)SQL",
    // 7: the audit chain key, kept in the keyring: one key for the whole chain, wrapped by
    // each key version (envelope kind `audit-key`), so that after any number of rotations the
    // current master key alone verifies the whole trail (docs/formats.md).
    R"SQL(
ALTER TABLE keyring ADD COLUMN audit_key BLOB;
)SQL",
    // 8: what a secret's value is (client-side encrypted payloads: age files, share links) and
    // the hash of a share link's proof (docs/client-side-encryption.md).
    R"SQL(
ALTER TABLE secrets ADD COLUMN content_type TEXT NOT NULL DEFAULT '';
ALTER TABLE secrets ADD COLUMN access_hash BLOB;
)SQL",
};

}  // namespace

const std::vector<const char*>& Migrations() {
  static const std::vector<const char*> kMigrations(std::begin(kMigrationSql),
                                                    std::end(kMigrationSql));
  return kMigrations;
}

Status Migrate(Connection& c) {
  SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("PRAGMA user_version"));
  SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
  const int64_t stored = row ? s->Int(0) : 0;
  s.reset();
  const auto& migrations = Migrations();
  if (stored < 0)
    return FailedPreconditionError("database schema version " + std::to_string(stored) +
                                   " is not one this sirrd knows (it knows 0 to " +
                                   std::to_string(migrations.size()) +
                                   "); the database was not written by sirrd");
  if (stored > static_cast<int64_t>(migrations.size()))
    return FailedPreconditionError("database schema version " + std::to_string(stored) +
                                   " is newer than this sirrd supports (" +
                                   std::to_string(migrations.size()) + ")");
  const int version = static_cast<int>(stored);
  if (version == static_cast<int>(migrations.size())) return OkStatus();
  // Table rebuilds need foreign keys off (the pragma is a no-op inside a transaction); the
  // result is checked with foreign_key_check before the commit.
  SIRR_RETURN_IF_ERROR(c.Exec("PRAGMA foreign_keys=OFF"));
  for (int v = version; v < static_cast<int>(migrations.size()); ++v) {
    SIRR_RETURN_IF_ERROR(c.Exec("BEGIN IMMEDIATE"));
    Status st = c.Exec(migrations[v]);
    if (st.ok()) st = c.Exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
    if (st.ok()) {
      auto check = c.Prepare("PRAGMA foreign_key_check");
      if (!check.ok()) {
        st = check.status();
      } else {
        auto row = (*check)->Step();
        if (!row.ok())
          st = row.status();
        else if (*row)
          st = DataLossError("foreign key check failed in table " + (*check)->Text(0));
      }
    }
    if (!st.ok()) {
      (void)c.Exec("ROLLBACK");
      (void)c.Exec("PRAGMA foreign_keys=ON");
      return st.Annotate("migration " + std::to_string(v + 1));
    }
    SIRR_RETURN_IF_ERROR(c.Exec("COMMIT"));
  }
  return c.Exec("PRAGMA foreign_keys=ON");
}

}  // namespace sirr::storage
