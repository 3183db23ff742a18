// Part of PostgresStorage (pg_storage.h): vaults, tokens, secrets and keys. The statements
// mirror SqliteStorage's (same contract, same errors); row locks (FOR UPDATE) take the place
// of SQLite's single writer where two nodes may write the same row.

#include <string>

#include "storage/postgres/pg_internal.h"

namespace sirr::storage {

namespace {

std::string_view Sv(const std::string& s) { return s; }

// --- vaults

#define VAULT_COLS "id, name, description, created_at, wrapped_key, owner"

VaultRow ReadVault(const PgResult& r, int i, bool with_key) {
  return VaultRow{
      r.Text(i, 0), r.Text(i, 1), r.Text(i, 2), r.Int(i, 3), with_key ? r.Blob(i, 4) : Bytes(),
      r.Text(i, 5)};
}

// --- tokens

#define TOKEN_COLS                                                                           \
  "id, name, hash, capabilities, all_vaults, created_at, created_by, expires_at, max_uses, " \
  "uses, revoked_at"

TokenRow ReadToken(const PgResult& r, int i) {
  TokenRow t;
  t.id = r.Text(i, 0);
  t.name = r.Text(i, 1);
  t.hash = r.Blob(i, 2);
  t.capabilities = r.Text(i, 3);
  t.all_vaults = r.Bool(i, 4);
  t.created_at = r.Int(i, 5);
  t.created_by = r.Text(i, 6);
  t.expires_at = r.OptInt(i, 7);
  t.max_uses = r.OptInt(i, 8);
  t.uses = r.Int(i, 9);
  t.revoked_at = r.OptInt(i, 10);
  return t;
}

Status LoadTokenVaults(PgConnection& c, TokenRow& t) {
  SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT vault_id FROM token_vaults WHERE token_id = $1 "
                                        "ORDER BY vault_id",
                                        PgParams().Add(Sv(t.id))));
  for (int i = 0; i < r.rows(); ++i) t.vault_ids.push_back(r.Text(i, 0));
  return OkStatus();
}

// --- secrets

#define SECRET_COLS                                                                             \
  "id, vault_id, name, type, description, created_at, expires_at, max_reads, reads_remaining, " \
  "state, gone_at, content_type, access_hash"

SecretRow ReadSecretRow(const PgResult& r, int i, bool with_value) {
  SecretRow s;
  s.id = r.Text(i, 0);
  s.vault_id = r.Text(i, 1);
  s.name = r.Text(i, 2);
  s.type = r.Text(i, 3);
  s.description = r.Text(i, 4);
  s.created_at = r.Int(i, 5);
  s.expires_at = r.OptInt(i, 6);
  s.max_reads = r.OptInt(i, 7);
  s.reads_remaining = r.OptInt(i, 8);
  s.state = static_cast<SecretState>(r.Int(i, 9));
  s.gone_at = r.OptInt(i, 10);
  s.content_type = r.Text(i, 11);
  s.access_hash = r.Blob(i, 12);
  if (with_value) s.value = r.Blob(i, 13);
  return s;
}

// The secret by id, else by name (an id match wins). `lock`: FOR UPDATE (inside a write).
StatusOr<std::optional<SecretRow>> FindSecret(PgConnection& c, std::string_view vault_id,
                                              std::string_view ref, bool with_value, bool lock) {
  if (LooksLikeId(ref)) {
    SIRR_ASSIGN_OR_RETURN(
        auto r,
        c.Query(lock ? "SELECT " SECRET_COLS ", value FROM secrets WHERE vault_id = $1 AND id = $2 "
                       "FOR UPDATE"
                     : "SELECT " SECRET_COLS ", value FROM secrets WHERE vault_id = $1 AND id = $2",
                PgParams().Add(vault_id).Add(ref)));
    if (r.rows() > 0) return std::optional<SecretRow>(ReadSecretRow(r, 0, with_value));
  }
  SIRR_ASSIGN_OR_RETURN(
      auto r,
      c.Query(lock ? "SELECT " SECRET_COLS ", value FROM secrets WHERE vault_id = $1 AND name = $2 "
                     "FOR UPDATE"
                   : "SELECT " SECRET_COLS ", value FROM secrets WHERE vault_id = $1 AND name = $2",
              PgParams().Add(vault_id).Add(ref)));
  if (r.rows() > 0) return std::optional<SecretRow>(ReadSecretRow(r, 0, with_value));
  return std::optional<SecretRow>();
}

// --- keys

#define KEY_COLS \
  "id, vault_id, name, description, spec, type, usage, created_at, public_key, material"
#define KEY_READ_COLS KEY_COLS ", hd_last_index"

KeyRow ReadKey(const PgResult& r, int i, bool with_material) {
  KeyRow k;
  k.id = r.Text(i, 0);
  k.vault_id = r.Text(i, 1);
  k.name = r.Text(i, 2);
  k.description = r.Text(i, 3);
  k.spec = r.Text(i, 4);
  k.type = r.Text(i, 5);
  k.usage = r.Text(i, 6);
  k.created_at = r.Int(i, 7);
  k.public_key = r.Blob(i, 8);
  if (with_material) k.material = r.Blob(i, 9);
  k.hd_last_index = r.OptInt(i, 10);
  return k;
}

// The key by id, else by name; an ambiguous name is FailedPrecondition (as SqliteStorage).
StatusOr<std::optional<KeyRow>> FindKey(PgConnection& c, std::string_view vault_id,
                                        std::string_view ref, bool with_material) {
  if (LooksLikeId(ref)) {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = "
                                          "$1 AND id = $2",
                                          PgParams().Add(vault_id).Add(ref)));
    if (r.rows() > 0) return std::optional<KeyRow>(ReadKey(r, 0, with_material));
  }
  constexpr int64_t kListed = 10;
  SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = $1 "
                                        "AND name = $2 ORDER BY created_at, id LIMIT $3",
                                        PgParams().Add(vault_id).Add(ref).Add(kListed + 1)));
  if (r.rows() == 0) return std::optional<KeyRow>();
  if (r.rows() == 1) return std::optional<KeyRow>(ReadKey(r, 0, with_material));
  std::string listed;
  for (int i = 0; i < r.rows() && i < kListed; ++i)
    listed += (listed.empty() ? "" : ", ") + r.Text(i, 0);
  if (r.rows() > kListed) listed += ", ...";
  return FailedPreconditionError("key name '" + std::string(ref) +
                                 "' is ambiguous: several keys in this vault carry it (ids " +
                                 listed + "); address the key by its id");
}

}  // namespace

// ---------------------------------------------------------------- vaults

StatusOr<VaultRow> PostgresStorage::GetVault(std::string_view id_or_name,
                                             std::string_view name_owner) {
  return CachedRead<VaultRow>(
      CacheKey{std::string(id_or_name), std::string(name_owner), false},
      [&](PgConnection& c) -> StatusOr<VaultRow> {
        SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT " VAULT_COLS " FROM vaults WHERE id = $1 OR "
                                              "(owner = $2 AND name = $1) ORDER BY (id = $1) DESC "
                                              "LIMIT 1",
                                              PgParams().Add(id_or_name).Add(name_owner)));
        if (r.rows() == 0) return NotFoundError("vault not found");
        return ReadVault(r, 0, true);
      });
}

Status PostgresStorage::CreateVault(const VaultRow& row, std::string_view grant_token_id,
                                    const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto r, c.Query("INSERT INTO vaults (" VAULT_COLS ") VALUES ($1, "
                                              "$2, $3, $4, $5, $6) ON CONFLICT (owner, name) DO "
                                              "NOTHING",
                                              PgParams()
                                                  .Add(Sv(row.id))
                                                  .Add(Sv(row.name))
                                                  .Add(Sv(row.description))
                                                  .Add(row.created_at)
                                                  .AddBlob(row.wrapped_key)
                                                  .Add(Sv(row.owner))));
        if (r.affected() == 0)
          return AlreadyExistsError("a vault named '" + row.name + "' already exists");
        if (!grant_token_id.empty()) {
          SIRR_ASSIGN_OR_RETURN(auto g, c.Query("INSERT INTO token_vaults (token_id, vault_id) "
                                                "VALUES ($1, $2)",
                                                PgParams().Add(grant_token_id).Add(Sv(row.id))));
          (void)g;
        }
        return AddJournal(c, journal, {});
      },
      &journal);
}

#define SIRR_PG_SCOPE \
  "($1 OR owner = $2 OR id = ANY($3::text::text[])) AND substr(owner, 1, 7) <> 'system:'"

StatusOr<VaultPage> PostgresStorage::ListVaults(const VaultScope& scope, int64_t offset,
                                                int64_t limit) {
  return WithReader([&](PgConnection& c) -> StatusOr<VaultPage> {
    VaultPage page;
    PgParams p;
    p.AddBool(scope.everything);
    if (scope.owner)
      p.Add(std::string_view(*scope.owner));
    else
      p.AddNull();
    p.Add(std::string_view(
        PgTextArray(std::vector<std::string_view>(scope.ids.begin(), scope.ids.end()))));
    {
      SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT count(*) FROM vaults WHERE " SIRR_PG_SCOPE, p));
      page.total = r.Int(0, 0);
    }
    p.Add(limit).Add(offset);
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT " VAULT_COLS " FROM vaults WHERE " SIRR_PG_SCOPE
                                          " ORDER BY owner, name LIMIT $4 OFFSET $5",
                                          p));
    for (int i = 0; i < r.rows(); ++i) page.rows.push_back(ReadVault(r, i, false));
    return page;
  });
}

StatusOr<int64_t> PostgresStorage::CountLiveSecrets(std::string_view vault_id) {
  return WithReader([&](PgConnection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT count(*) FROM secrets WHERE vault_id = $1 AND "
                                          "state = 0",
                                          PgParams().Add(vault_id)));
    return r.Int(0, 0);
  });
}

Status PostgresStorage::ShredVaultKey(std::string_view vault_id, const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        // The old row version stays in the heap until VACUUM and in the WAL until recycled
        // (docs/ha.md "Shredding on PostgreSQL").
        SIRR_ASSIGN_OR_RETURN(auto r, c.Query("UPDATE vaults SET wrapped_key = '\\x'::bytea "
                                              "WHERE id = $1",
                                              PgParams().Add(vault_id)));
        if (r.affected() == 0) return NotFoundError("vault not found");
        return AddJournal(c, journal, {});
      },
      &journal);
}

StatusOr<int64_t> PostgresStorage::DeleteVault(std::string_view vault_id, const Journal& journal) {
  int64_t removed = 0;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(
            auto s, c.Query("DELETE FROM secrets WHERE vault_id = $1", PgParams().Add(vault_id)));
        SIRR_ASSIGN_OR_RETURN(
            auto k, c.Query("DELETE FROM keys WHERE vault_id = $1", PgParams().Add(vault_id)));
        removed = s.affected() + k.affected();
        SIRR_ASSIGN_OR_RETURN(
            auto v, c.Query("DELETE FROM vaults WHERE id = $1", PgParams().Add(vault_id)));
        if (v.affected() == 0) return NotFoundError("vault not found");
        return AddJournal(c, journal, {});
      },
      &journal);
  if (!st.ok()) return st;
  return removed;
}

// ---------------------------------------------------------------- tokens

Status PostgresStorage::CreateToken(const TokenRow& t, const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto r, c.Query("INSERT INTO tokens (" TOKEN_COLS ") VALUES ($1, "
                                              "$2, $3, $4, $5, $6, $7, $8, $9, 0, NULL)",
                                              PgParams()
                                                  .Add(Sv(t.id))
                                                  .Add(Sv(t.name))
                                                  .AddBlob(t.hash)
                                                  .Add(Sv(t.capabilities))
                                                  .AddBool(t.all_vaults)
                                                  .Add(t.created_at)
                                                  .Add(Sv(t.created_by))
                                                  .Add(t.expires_at)
                                                  .Add(t.max_uses)));
        (void)r;
        for (const auto& vault : t.vault_ids) {
          SIRR_ASSIGN_OR_RETURN(auto g, c.Query("INSERT INTO token_vaults (token_id, vault_id) "
                                                "VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                                PgParams().Add(Sv(t.id)).Add(Sv(vault))));
          (void)g;
        }
        return AddJournal(c, journal, {});
      },
      &journal);
}

StatusOr<TokenRow> PostgresStorage::FindTokenByHash(const Bytes& hash) {
  return WithReader([&](PgConnection& c) -> StatusOr<TokenRow> {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT " TOKEN_COLS " FROM tokens WHERE hash = $1",
                                          PgParams().AddBlob(hash)));
    if (r.rows() == 0) return NotFoundError("token not found");
    TokenRow t = ReadToken(r, 0);
    SIRR_RETURN_IF_ERROR(LoadTokenVaults(c, t));
    return t;
  });
}

StatusOr<TokenRow> PostgresStorage::GetToken(std::string_view id) {
  return WithReader([&](PgConnection& c) -> StatusOr<TokenRow> {
    SIRR_ASSIGN_OR_RETURN(
        auto r, c.Query("SELECT " TOKEN_COLS " FROM tokens WHERE id = $1", PgParams().Add(id)));
    if (r.rows() == 0) return NotFoundError("token not found");
    TokenRow t = ReadToken(r, 0);
    SIRR_RETURN_IF_ERROR(LoadTokenVaults(c, t));
    return t;
  });
}

StatusOr<bool> PostgresStorage::ConsumeTokenUse(std::string_view id) {
  bool ok = false;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto r, c.Query("UPDATE tokens SET uses = uses + 1 WHERE id = $1 AND "
                                              "revoked_at IS NULL AND (max_uses IS NULL OR uses < "
                                              "max_uses)",
                                              PgParams().Add(id)));
        ok = r.affected() == 1;
        return OkStatus();
      },
      nullptr, /*fence=*/false);  // no cached row (tokens, tombstones)
  if (!st.ok()) return st;
  return ok;
}

StatusOr<std::vector<TokenRow>> PostgresStorage::ListTokens() {
  return WithReader([&](PgConnection& c) -> StatusOr<std::vector<TokenRow>> {
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT " TOKEN_COLS " FROM tokens ORDER BY "
                                          "created_at DESC, id"));
    std::vector<TokenRow> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(ReadToken(r, i));
    for (auto& t : out) SIRR_RETURN_IF_ERROR(LoadTokenVaults(c, t));
    return out;
  });
}

Status PostgresStorage::RevokeToken(std::string_view id, int64_t now, const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(
            auto r,
            c.Query("WITH RECURSIVE tree(id) AS (SELECT id FROM tokens WHERE id = $2 UNION "
                    "SELECT t.id FROM tokens t JOIN tree ON t.created_by = 'token:' || tree.id) "
                    "UPDATE tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id IN "
                    "(SELECT id FROM tree)",
                    PgParams().Add(now).Add(id)));
        if (r.affected() == 0) return NotFoundError("token not found");
        return AddJournal(c, journal, {});
      },
      &journal);
}

// ---------------------------------------------------------------- secrets

Status PostgresStorage::PutSecret(const SecretRow& row, bool overwrite, int64_t now,
                                  const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        // A new name went in with the batch's other new secrets (no fence: it replaced nothing).
        if (InsertedByBatch()) return AddJournal(c, journal, {});
        // The name exists: one statement replaces a row that may be replaced (a tombstone, an
        // expired secret, or any with overwrite); a live one without overwrite changes nothing.
        SIRR_ASSIGN_OR_RETURN(
            auto r,
            c.Query("INSERT INTO secrets (" SECRET_COLS ", value) VALUES ($1, $2, $3, $4, $5, "
                    "$6, $7, $8, $9, 0, NULL, $10, $11, $12) ON CONFLICT (vault_id, name) DO "
                    "UPDATE SET id = excluded.id, type = excluded.type, description = "
                    "excluded.description, created_at = excluded.created_at, expires_at = "
                    "excluded.expires_at, max_reads = excluded.max_reads, reads_remaining = "
                    "excluded.reads_remaining, state = 0, gone_at = NULL, content_type = "
                    "excluded.content_type, access_hash = excluded.access_hash, value = "
                    "excluded.value WHERE $13 OR secrets.state <> 0 OR (secrets.expires_at IS "
                    "NOT NULL AND secrets.expires_at <= $14)",
                    PgParams()
                        .Add(Sv(row.id))
                        .Add(Sv(row.vault_id))
                        .Add(Sv(row.name))
                        .Add(Sv(row.type))
                        .Add(Sv(row.description))
                        .Add(row.created_at)
                        .Add(row.expires_at)
                        .Add(row.max_reads)
                        .Add(row.reads_remaining)
                        .Add(Sv(row.content_type))
                        .AddBlob(row.access_hash)
                        .AddBlob(row.value)
                        .AddBool(overwrite)
                        .Add(now)));
        if (r.affected() == 0)
          return AlreadyExistsError("a secret named '" + row.name + "' already exists");
        return AddJournal(c, journal, {});
      },
      &journal, /*fence=*/true, &row);
}

StatusOr<SecretRow> PostgresStorage::GetSecretMeta(std::string_view vault_id,
                                                   std::string_view id_or_name) {
  return WithReader([&](PgConnection& c) -> StatusOr<SecretRow> {
    SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, false, false));
    if (!found) return NotFoundError("secret not found");
    return std::move(*found);
  });
}

StatusOr<SecretRow> PostgresStorage::ReadSecret(std::string_view vault_id,
                                                std::string_view id_or_name, int64_t now,
                                                const Journal& journal) {
  SIRR_RETURN_IF_ERROR(ValidateCache());
  CacheKey key{std::string(vault_id), std::string(id_or_name), true};
  uint64_t generation = 0;
  if (auto hit = cache_.Find<SecretRow>(key, &generation, now)) {
    metrics_.cache_hits.Inc();
    return std::move(*hit);
  }
  metrics_.cache_misses.Inc();
  auto fast = WithReader([&](PgConnection& c) -> StatusOr<std::optional<SecretRow>> {
    return FindSecret(c, vault_id, id_or_name, true, false);
  });
  if (!fast.ok()) return fast.status();
  if (!*fast) return NotFoundError("secret not found");
  {
    SecretRow& r = **fast;
    const bool expired = r.expires_at && *r.expires_at <= now;
    if (r.state == SecretState::kLive && !expired && !r.reads_remaining)
      cache_.Fill(std::move(key), r, generation);
    if (r.state != SecretState::kLive || (!expired && !r.reads_remaining)) {
      if (r.state != SecretState::kLive) r.value.clear();
      return std::move(r);
    }
  }
  // Expiry or read accounting: the row locked (FOR UPDATE), so that readers on every node
  // serialise on it, then one conditional statement.
  SecretRow out;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, true, true));
        if (!found) return NotFoundError("secret not found");
        out = std::move(*found);
        if (out.state != SecretState::kLive) {
          out.value.clear();
          return OkStatus();
        }
        if (out.expires_at && *out.expires_at <= now) {
          SIRR_ASSIGN_OR_RETURN(
              auto r, c.Query("UPDATE secrets SET state = $3, value = NULL, "
                              "gone_at = $1 WHERE id = $2",
                              PgParams().Add(now).Add(Sv(out.id)).Add(SecretState::kExpired)));
          (void)r;
          out.state = SecretState::kExpired;
          out.gone_at = now;
          out.value.clear();
          return AddJournal(c, journal, {.secret = &out});
        }
        if (!out.reads_remaining) return OkStatus();
        // The decrement and, on the last read, the burn: one statement.
        SIRR_ASSIGN_OR_RETURN(
            auto r, c.Query("UPDATE secrets SET reads_remaining = reads_remaining - 1, state = "
                            "CASE WHEN reads_remaining <= 1 THEN $3 ELSE state END, value = CASE "
                            "WHEN reads_remaining <= 1 THEN NULL ELSE value END, gone_at = CASE "
                            "WHEN reads_remaining <= 1 THEN $1 ELSE gone_at END WHERE id = $2 AND "
                            "state = 0 AND reads_remaining >= 1 RETURNING reads_remaining",
                            PgParams().Add(now).Add(Sv(out.id)).Add(SecretState::kBurned)));
        if (r.rows() != 1) return InternalError("storage: read accounting found no row");
        out.reads_remaining = r.Int(0, 0);
        // `out` keeps the value: this read is the one that burns it (state stays kLive in the
        // returned row so the caller serves it; the stored row is already kBurned).
        if (*out.reads_remaining <= 0) {
          out.reads_remaining = 0;
          out.gone_at = now;
        }
        return AddJournal(c, journal, {.secret = &out});
      },
      &journal, /*fence=*/false);  // read-limited and expired rows are never cached
  if (!st.ok()) return st;
  return out;
}

StatusOr<SecretPage> PostgresStorage::ListSecrets(std::string_view vault_id,
                                                  const SecretFilter& filter, int64_t now) {
  return WithReader([&](PgConnection& c) -> StatusOr<SecretPage> {
    SecretPage page;
    PgParams p;
    p.Add(vault_id).Add(now).Add(Sv(filter.type)).Add(Sv(filter.prefix));
    {
      SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT count(*) FROM secrets WHERE vault_id = $1 AND "
                                            "state = 0 AND (expires_at IS NULL OR expires_at > "
                                            "$2) AND ($3 = '' OR type = $3) AND starts_with(name, "
                                            "$4)",
                                            p));
      page.total = r.Int(0, 0);
    }
    p.Add(filter.limit).Add(filter.offset);
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT " SECRET_COLS " FROM secrets WHERE vault_id = "
                                          "$1 AND state = 0 AND (expires_at IS NULL OR "
                                          "expires_at > $2) AND ($3 = '' OR type = $3) AND "
                                          "starts_with(name, $4) ORDER BY name LIMIT $5 OFFSET $6",
                                          p));
    for (int i = 0; i < r.rows(); ++i) page.rows.push_back(ReadSecretRow(r, i, false));
    return page;
  });
}

StatusOr<SecretRow> PostgresStorage::DeleteSecret(std::string_view vault_id,
                                                  std::string_view id_or_name,
                                                  const Journal& journal) {
  SecretRow out;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, false, true));
        if (!found) return NotFoundError("secret not found");
        out = std::move(*found);
        SIRR_ASSIGN_OR_RETURN(
            auto r, c.Query("DELETE FROM secrets WHERE id = $1", PgParams().Add(Sv(out.id))));
        (void)r;
        return AddJournal(c, journal, {.secret = &out});
      },
      &journal);
  if (!st.ok()) return st;
  return out;
}

StatusOr<std::vector<SecretRow>> PostgresStorage::ExpireDue(int64_t now, int limit,
                                                            const Journal& journal) {
  std::vector<SecretRow> out;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        out.clear();
        // SKIP LOCKED: two nodes sweeping at once take different rows.
        SIRR_ASSIGN_OR_RETURN(
            auto r, c.Query("SELECT " SECRET_COLS " FROM secrets WHERE state = 0 AND expires_at "
                            "IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2 FOR "
                            "UPDATE SKIP LOCKED",
                            PgParams().Add(now).Add(int64_t{limit})));
        for (int i = 0; i < r.rows(); ++i) out.push_back(ReadSecretRow(r, i, false));
        for (auto& s : out) {
          SIRR_ASSIGN_OR_RETURN(
              auto u, c.Query("UPDATE secrets SET state = $3, value = NULL, "
                              "gone_at = $1 WHERE id = $2",
                              PgParams().Add(now).Add(Sv(s.id)).Add(SecretState::kExpired)));
          (void)u;
          s.state = SecretState::kExpired;
          s.gone_at = now;
          SIRR_RETURN_IF_ERROR(AddJournal(c, journal, {.secret = &s}));
        }
        return OkStatus();
      },
      &journal, /*fence=*/false);  // cached rows carry their expiry
  if (!st.ok()) return st;
  return out;
}

StatusOr<int64_t> PostgresStorage::PurgeTombstones(int64_t gone_before) {
  int64_t n = 0;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto r,
                              c.Query("DELETE FROM secrets WHERE state <> 0 AND gone_at <= $1",
                                      PgParams().Add(gone_before)));
        n = r.affected();
        return OkStatus();
      },
      nullptr, /*fence=*/false);  // no cached row (tokens, tombstones)
  if (!st.ok()) return st;
  return n;
}

// ---------------------------------------------------------------- keys

Status PostgresStorage::CreateKey(const KeyRow& k, const Journal& journal) {
  return WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto r, c.Query("INSERT INTO keys (" KEY_COLS ") VALUES ($1, $2, "
                                              "$3, $4, $5, $6, $7, $8, $9, $10)",
                                              PgParams()
                                                  .Add(Sv(k.id))
                                                  .Add(Sv(k.vault_id))
                                                  .Add(Sv(k.name))
                                                  .Add(Sv(k.description))
                                                  .Add(Sv(k.spec))
                                                  .Add(Sv(k.type))
                                                  .Add(Sv(k.usage))
                                                  .Add(k.created_at)
                                                  .AddBlob(k.public_key)
                                                  .AddBlob(k.material)));
        (void)r;
        return AddJournal(c, journal, {});
      },
      &journal);
}

StatusOr<KeyRow> PostgresStorage::GetKey(std::string_view vault_id, std::string_view id_or_name,
                                         bool with_material) {
  return CachedRead<KeyRow>(CacheKey{std::string(vault_id), std::string(id_or_name), with_material},
                            [&](PgConnection& c) -> StatusOr<KeyRow> {
                              SIRR_ASSIGN_OR_RETURN(
                                  auto found, FindKey(c, vault_id, id_or_name, with_material));
                              if (!found) return NotFoundError("key not found");
                              return std::move(*found);
                            });
}

StatusOr<KeyPage> PostgresStorage::ListKeys(std::string_view vault_id, const KeyFilter& filter) {
  return WithReader([&](PgConnection& c) -> StatusOr<KeyPage> {
    KeyPage page;
    PgParams p;
    p.Add(vault_id).Add(Sv(filter.spec)).Add(Sv(filter.type));
    {
      SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT count(*) FROM keys WHERE vault_id = $1 AND "
                                            "($2 = '' OR spec = $2) AND ($3 = '' OR type = $3)",
                                            p));
      page.total = r.Int(0, 0);
    }
    p.Add(filter.limit).Add(filter.offset);
    SIRR_ASSIGN_OR_RETURN(auto r, c.Query("SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = $1 "
                                          "AND ($2 = '' OR spec = $2) AND ($3 = '' OR type = $3) "
                                          "ORDER BY created_at, id LIMIT $4 OFFSET $5",
                                          p));
    for (int i = 0; i < r.rows(); ++i) page.rows.push_back(ReadKey(r, i, false));
    return page;
  });
}

StatusOr<int64_t> PostgresStorage::CountKeys(std::string_view vault_id) {
  return WithReader([&](PgConnection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(
        auto r, c.Query("SELECT count(*) FROM keys WHERE vault_id = $1", PgParams().Add(vault_id)));
    return r.Int(0, 0);
  });
}

StatusOr<int64_t> PostgresStorage::NextHdIndex(std::string_view vault_id, std::string_view key_id,
                                               const Journal& journal) {
  int64_t index = 0;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto r, c.Query("UPDATE keys SET hd_last_index = hd_next_index, "
                                              "hd_next_index = hd_next_index + 1 WHERE vault_id "
                                              "= $1 AND id = $2 RETURNING hd_last_index",
                                              PgParams().Add(vault_id).Add(key_id)));
        if (r.rows() == 0) return NotFoundError("key not found");
        index = r.Int(0, 0);
        return AddJournal(c, journal, {.index = index});
      },
      &journal);
  if (!st.ok()) return st;
  return index;
}

StatusOr<KeyRow> PostgresStorage::DeleteKey(std::string_view vault_id, std::string_view id_or_name,
                                            const Journal& journal) {
  KeyRow out;
  Status st = WithWriteTx(
      [&](PgConnection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto found, FindKey(c, vault_id, id_or_name, false));
        if (!found) return NotFoundError("key not found");
        out = std::move(*found);
        SIRR_ASSIGN_OR_RETURN(
            auto r, c.Query("DELETE FROM keys WHERE id = $1", PgParams().Add(Sv(out.id))));
        if (r.affected() == 0) return NotFoundError("key not found");
        return AddJournal(c, journal, {.key = &out});
      },
      &journal);
  if (!st.ok()) return st;
  return out;
}

}  // namespace sirr::storage
