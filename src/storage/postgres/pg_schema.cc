// Part of PostgresStorage (pg_storage.h): numbered migrations.
//
// Entry i brings the schema from version i to i + 1; append only. The version lives in table
// sirr_schema. All pending migrations run in one transaction that first takes the migration
// advisory lock, so nodes starting together migrate exactly once and a failed migration leaves
// the schema as it was. Version 1 is the SQLite schema at its version 8, with the audit journal
// and chain head per node (journal ids are the node's own, handed out in commit order by
// the node: PostgresStorage's write lanes).

#include <iterator>
#include <string>

#include "storage/postgres/pg_internal.h"

namespace sirr::storage {

namespace {

const char* const kPgMigrations[] = {
    // 1: everything (SQLite schema 8), journal and audit head per node, the cache epoch.
    R"SQL(
CREATE TABLE keyring (
  version    integer PRIMARY KEY,
  key_id     bytea NOT NULL UNIQUE,
  state      text NOT NULL CHECK (state IN ('active', 'retiring', 'retired')),
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  key_check  bytea NOT NULL,
  audit_key  bytea
);
CREATE TABLE vaults (
  id          text COLLATE "C" PRIMARY KEY,
  owner       text COLLATE "C" NOT NULL DEFAULT '',
  name        text COLLATE "C" NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at  bigint NOT NULL,
  wrapped_key bytea NOT NULL,
  UNIQUE (owner, name)
);
CREATE TABLE secrets (
  id              text COLLATE "C" PRIMARY KEY,
  vault_id        text COLLATE "C" NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  name            text COLLATE "C" NOT NULL,
  type            text NOT NULL DEFAULT '',
  description     text NOT NULL DEFAULT '',
  created_at      bigint NOT NULL,
  expires_at      bigint,
  max_reads       bigint,
  reads_remaining bigint,
  state           integer NOT NULL DEFAULT 0,
  gone_at         bigint,
  value           bytea,
  content_type    text NOT NULL DEFAULT '',
  access_hash     bytea,
  UNIQUE (vault_id, name)
);
CREATE INDEX secrets_live_expiry ON secrets(expires_at) WHERE state = 0 AND expires_at IS NOT NULL;
CREATE INDEX secrets_gone ON secrets(gone_at) WHERE state <> 0;
CREATE TABLE tokens (
  id           text COLLATE "C" PRIMARY KEY,
  name         text NOT NULL,
  hash         bytea NOT NULL UNIQUE,
  capabilities text NOT NULL,
  all_vaults   boolean NOT NULL DEFAULT false,
  created_at   bigint NOT NULL,
  created_by   text COLLATE "C" NOT NULL,
  expires_at   bigint,
  max_uses     bigint,
  uses         bigint NOT NULL DEFAULT 0,
  revoked_at   bigint
);
CREATE INDEX tokens_created_by ON tokens(created_by);
CREATE TABLE token_vaults (
  token_id text COLLATE "C" NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
  vault_id text COLLATE "C" NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  PRIMARY KEY (token_id, vault_id)
);
CREATE INDEX token_vaults_vault ON token_vaults(vault_id);
CREATE TABLE keys (
  id            text COLLATE "C" PRIMARY KEY,
  vault_id      text COLLATE "C" NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
  name          text COLLATE "C" NOT NULL,
  description   text NOT NULL DEFAULT '',
  spec          text NOT NULL,
  type          text NOT NULL,
  usage         text NOT NULL,
  created_at    bigint NOT NULL,
  public_key    bytea NOT NULL,
  material      bytea NOT NULL,
  hd_next_index bigint NOT NULL DEFAULT 0,
  hd_last_index bigint
);
CREATE INDEX keys_vault_created ON keys(vault_id, created_at);
CREATE INDEX keys_vault_name ON keys(vault_id, name);
CREATE TABLE audit_journal (
  node    text COLLATE "C" NOT NULL,
  id      bigint NOT NULL,
  time_ms bigint NOT NULL,
  fields  text NOT NULL,
  PRIMARY KEY (node, id)
);
CREATE TABLE audit_head (
  node    text COLLATE "C" PRIMARY KEY,
  seq     bigint NOT NULL,
  mac     bytea NOT NULL,
  journal bigint NOT NULL DEFAULT 0
);
CREATE SEQUENCE sirr_epoch;
)SQL",
};

}  // namespace

int PostgresStorage::SchemaVersion() { return static_cast<int>(std::size(kPgMigrations)); }

Status internal::PgMigrate(PgConnection& c) {
  const int64_t known = static_cast<int64_t>(std::size(kPgMigrations));
  SIRR_RETURN_IF_ERROR(c.Exec("BEGIN"));
  auto run = [&]() -> Status {
    SIRR_ASSIGN_OR_RETURN(
        auto locked, c.Query("SELECT pg_advisory_xact_lock($1)", PgParams().Add(kMigrationLock)));
    (void)locked;
    SIRR_RETURN_IF_ERROR(
        c.Exec("CREATE TABLE IF NOT EXISTS sirr_schema (version integer NOT NULL)"));
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT max(version) FROM sirr_schema"));
    const int64_t stored = r.rows() == 1 ? r.OptInt(0, 0).value_or(0) : 0;
    if (stored > known)
      return FailedPreconditionError("database schema version " + std::to_string(stored) +
                                     " is newer than this sirrd supports (" +
                                     std::to_string(known) + "): upgrade sirrd");
    for (int64_t v = stored; v < known; ++v)
      SIRR_RETURN_IF_ERROR(c.Exec(kPgMigrations[v]).Annotate("migration " + std::to_string(v + 1)));
    if (stored < known) {
      SIRR_RETURN_IF_ERROR(c.Exec("DELETE FROM sirr_schema"));
      SIRR_ASSIGN_OR_RETURN(auto set, c.Query("INSERT INTO sirr_schema (version) VALUES ($1)",
                                              PgParams().Add(known)));
      (void)set;
    }
    return OkStatus();
  };
  Status st = run();
  if (!st.ok()) {
    (void)c.Exec("ROLLBACK");
    return st;
  }
  return c.Exec("COMMIT");
}

}  // namespace sirr::storage
