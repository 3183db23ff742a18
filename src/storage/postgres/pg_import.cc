// Part of PostgresStorage (pg_storage.h): ImportFromSqlite, the copy behind
// `sirrd migrate-storage`. Rows are copied as stored (ciphertext stays ciphertext), table by
// table in foreign-key order, in one PostgreSQL transaction: a failure leaves the target empty.

#include <sqlite3.h>

#include "storage/postgres/pg_internal.h"
#include "storage/sqlite/sqlite_storage.h"

namespace sirr::storage {

namespace {

struct Table {
  const char* name;
  const char* select;  // SQLite
  const char* insert;  // PostgreSQL, one parameter per selected column
  const char* types;   // per column: t text, i integer (nullable), b blob, o boolean
};

// Foreign-key order. Tombstones, token grants and HD counters are copied too.
const Table kTables[] = {
    {"keyring",
     "SELECT version, key_id, state, created_at, updated_at, key_check, audit_key FROM keyring",
     "INSERT INTO keyring (version, key_id, state, created_at, updated_at, key_check, audit_key) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7)",
     "ibtiibb"},
    {"vaults", "SELECT id, owner, name, description, created_at, wrapped_key FROM vaults",
     "INSERT INTO vaults (id, owner, name, description, created_at, wrapped_key) VALUES ($1, $2, "
     "$3, $4, $5, $6)",
     "ttttib"},
    {"secrets",
     "SELECT id, vault_id, name, type, description, created_at, expires_at, max_reads, "
     "reads_remaining, state, gone_at, value, content_type, access_hash FROM secrets",
     "INSERT INTO secrets (id, vault_id, name, type, description, created_at, expires_at, "
     "max_reads, reads_remaining, state, gone_at, value, content_type, access_hash) VALUES ($1, "
     "$2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
     "tttttiiiiiibtb"},
    {"tokens",
     "SELECT id, name, hash, capabilities, all_vaults, created_at, created_by, expires_at, "
     "max_uses, uses, revoked_at FROM tokens",
     "INSERT INTO tokens (id, name, hash, capabilities, all_vaults, created_at, created_by, "
     "expires_at, max_uses, uses, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
     "$11)",
     "ttbtoitiiii"},
    {"token_vaults", "SELECT token_id, vault_id FROM token_vaults",
     "INSERT INTO token_vaults (token_id, vault_id) VALUES ($1, $2)", "tt"},
    {"keys",
     "SELECT id, vault_id, name, description, spec, type, usage, created_at, public_key, "
     "material, hd_next_index, hd_last_index FROM keys",
     "INSERT INTO keys (id, vault_id, name, description, spec, type, usage, created_at, "
     "public_key, material, hd_next_index, hd_last_index) VALUES ($1, $2, $3, $4, $5, $6, $7, "
     "$8, $9, $10, $11, $12)",
     "tttttttibbii"},
};

std::string SqliteMessage(sqlite3* db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

using SqliteStmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

StatusOr<SqliteStmt> Prepare(sqlite3* src, const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(src, sql, -1, &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return InternalError(std::string("reading the source: ") + SqliteMessage(src));
  }
  return SqliteStmt(raw, &sqlite3_finalize);
}

std::string_view ColumnText(sqlite3_stmt* s, int col) {
  return {reinterpret_cast<const char*>(sqlite3_column_text(s, col)),
          static_cast<size_t>(sqlite3_column_bytes(s, col))};
}

Bytes ColumnBlob(sqlite3_stmt* s, int col) {
  const auto* b = static_cast<const uint8_t*>(sqlite3_column_blob(s, col));
  return b ? Bytes(b, b + sqlite3_column_bytes(s, col)) : Bytes();
}

// The current row of `s` as parameters, per the table's column types.
PgParams RowParams(sqlite3_stmt* s, const char* types) {
  PgParams p;
  for (int col = 0; types[col]; ++col) {
    const bool null = sqlite3_column_type(s, col) == SQLITE_NULL;
    if (null && (types[col] == 'i' || types[col] == 'b')) {
      p.AddNull();
      continue;
    }
    switch (types[col]) {
      case 't':
        p.Add(ColumnText(s, col));
        break;
      case 'i':
        p.Add(static_cast<int64_t>(sqlite3_column_int64(s, col)));
        break;
      case 'o':
        p.AddBool(sqlite3_column_int64(s, col) != 0);
        break;
      case 'b':
        p.AddBlob(ColumnBlob(s, col));
        break;
    }
  }
  return p;
}

// Copies one table; returns the rows copied.
StatusOr<int64_t> CopyTable(sqlite3* src, PgConnection& c, const Table& t,
                            const std::function<void(const std::string&)>& progress) {
  SIRR_ASSIGN_OR_RETURN(SqliteStmt s, Prepare(src, t.select));
  int64_t n = 0;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    SIRR_RETURN_IF_ERROR(c.Query(t.insert, RowParams(s.get(), t.types))
                             .status()
                             .Annotate(std::string("copying ") + t.name));
    if (++n % 10000 == 0 && progress)
      progress(std::string(t.name) + ": " + std::to_string(n) + " rows");
  }
  if (rc != SQLITE_DONE)
    return InternalError(std::string("reading ") + t.name + ": " + SqliteMessage(src));
  if (progress) progress(std::string(t.name) + ": " + std::to_string(n) + " rows copied");
  return n;
}

// The source node's audit chain continues on `node`: its recorded head, and the journal records
// committed but perhaps not yet in its audit file. Returns the journal rows copied.
StatusOr<int64_t> CopyAuditState(sqlite3* src, PgConnection& c, std::string_view node) {
  {
    SIRR_ASSIGN_OR_RETURN(SqliteStmt s,
                          Prepare(src, "SELECT seq, mac FROM audit_head WHERE id = 1"));
    if (sqlite3_step(s.get()) == SQLITE_ROW)
      SIRR_RETURN_IF_ERROR(c.Query("INSERT INTO audit_head (node, seq, mac) VALUES ($1, $2, $3)",
                                   PgParams()
                                       .Add(node)
                                       .Add(static_cast<int64_t>(sqlite3_column_int64(s.get(), 0)))
                                       .AddBlob(ColumnBlob(s.get(), 1)))
                               .status());
  }
  SIRR_ASSIGN_OR_RETURN(SqliteStmt s,
                        Prepare(src, "SELECT time_ms, fields FROM audit_journal ORDER BY id"));
  int64_t n = 0;
  while (sqlite3_step(s.get()) == SQLITE_ROW)
    SIRR_RETURN_IF_ERROR(
        c.Query("INSERT INTO audit_journal (node, id, time_ms, fields) VALUES ($1, $2, $3, $4)",
                PgParams()
                    .Add(node)
                    .Add(++n)
                    .Add(static_cast<int64_t>(sqlite3_column_int64(s.get(), 0)))
                    .Add(ColumnText(s.get(), 1)))
            .status());
  return n;
}

// Every table holds exactly what was read (inside the copying transaction).
Status VerifyCounts(PgConnection& c, std::map<std::string, int64_t>& copied) {
  for (const Table& t : kTables) {
    const std::string count = std::string("SELECT count(*) FROM ") + t.name;
    PgResult got(PQexec(c.raw(), count.c_str()));
    if (PQresultStatus(got.raw()) != PGRES_TUPLES_OK)
      return UnavailableError("database: counting " + std::string(t.name));
    if (got.Int(0, 0) != copied[t.name])
      return DataLossError(std::string("verification failed: ") + t.name + " holds " +
                           std::to_string(got.Int(0, 0)) + " rows, " +
                           std::to_string(copied[t.name]) + " were copied");
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::map<std::string, int64_t>> PostgresStorage::ImportFromSqlite(
    const std::string& sqlite_path, const std::function<void(const std::string&)>& progress) {
  // Bring the source to the current schema first (what starting this sirrd on it would do).
  { SIRR_ASSIGN_OR_RETURN(auto upgraded, SqliteStorage::Open(sqlite_path)); }
  sqlite3* src = nullptr;
  if (sqlite3_open_v2(sqlite_path.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = SqliteMessage(src);
    sqlite3_close(src);
    return InvalidArgumentError("cannot open " + sqlite_path + ": " + msg);
  }
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> src_guard(src, &sqlite3_close);
  // One read transaction: a consistent snapshot of the source.
  if (sqlite3_exec(src, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK)
    return UnavailableError("cannot read " + sqlite_path + ": " + SqliteMessage(src));

  SIRR_ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, Connect());
  PgConnection& c = *conn;
  SIRR_RETURN_IF_ERROR(c.Exec("BEGIN"));
  std::map<std::string, int64_t> copied;
  auto run = [&]() -> Status {
    // The target must be empty (checked inside the copying transaction, under a lock that keeps
    // a starting node from initialising it meanwhile).
    SIRR_RETURN_IF_ERROR(c.Exec("LOCK TABLE keyring IN EXCLUSIVE MODE"));
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT (SELECT count(*) FROM keyring) + (SELECT "
                                          "count(*) FROM vaults) + (SELECT count(*) FROM "
                                          "tokens)"));
    if (r.Int(0, 0) > 0)
      return FailedPreconditionError(
          "the target database already holds a Sirr instance (keyring, vaults or tokens): "
          "migrate-storage only copies into an empty database");
    for (const Table& t : kTables) {
      SIRR_ASSIGN_OR_RETURN(copied[t.name], CopyTable(src, c, t, progress));
    }
    SIRR_ASSIGN_OR_RETURN(copied["audit_journal"], CopyAuditState(src, c, options_.node_id));
    return VerifyCounts(c, copied);
  };
  if (Status st = run(); !st.ok()) {
    (void)c.Exec("ROLLBACK");
    return st;
  }
  SIRR_RETURN_IF_ERROR(c.Exec("COMMIT"));
  (void)c.Query("SELECT nextval('sirr_epoch')");
  // This storage's journal counters start after the imported rows.
  std::lock_guard lock(journal_mu_);
  next_journal_id_ = next_handoff_id_ = std::max(next_journal_id_, copied["audit_journal"] + 1);
  return copied;
}

}  // namespace sirr::storage
