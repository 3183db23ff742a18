// Part of SqliteStorage (sqlite_storage.h): the secrets table.

#include <string>

#include "storage/sqlite/sqlite_internal.h"

namespace sirr::storage {
using internal::FindByIdOrName;

namespace {

SecretRow ReadSecretColumns(const Stmt& s) {
  SecretRow r;
  r.id = s.Text(0);
  r.vault_id = s.Text(1);
  r.name = s.Text(2);
  r.type = s.Text(3);
  r.description = s.Text(4);
  r.created_at = s.Int(5);
  r.expires_at = s.OptInt(6);
  r.max_reads = s.OptInt(7);
  r.reads_remaining = s.OptInt(8);
  r.state = static_cast<SecretState>(s.Int(9));
  r.gone_at = s.OptInt(10);
  r.content_type = s.Text(11);
  r.access_hash = s.Blob(12);
  return r;
}

#define SECRET_COLS                                                                             \
  "id, vault_id, name, type, description, created_at, expires_at, max_reads, reads_remaining, " \
  "state, gone_at, content_type, access_hash"

// The row of a secret by id, else by name (an id match wins).
StatusOr<std::optional<SecretRow>> FindSecret(Connection& c, std::string_view vault_id,
                                              std::string_view id_or_name, bool with_value) {
  return FindByIdOrName<SecretRow>(
      c, "SELECT " SECRET_COLS ", value FROM secrets WHERE vault_id = ?1 AND id = ?2",
      "SELECT " SECRET_COLS ", value FROM secrets WHERE vault_id = ?1 AND name = ?2", vault_id,
      id_or_name, [&](const Stmt& s) {
        SecretRow r = ReadSecretColumns(s);
        if (with_value) r.value = s.Blob(13);
        return r;
      });
}

// Expires the live secret `row` at `now` (its value erased in the row) and updates `row`.
Status MarkExpired(Connection& c, SecretRow& row, int64_t now) {
  SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE secrets SET state = ?3, value = NULL, "
                                          "gone_at = ?1 WHERE id = ?2"));
  s->Bind(1, now).Bind(2, row.id).Bind(3, SecretState::kExpired);
  SIRR_RETURN_IF_ERROR(s->Run());
  row.state = SecretState::kExpired;
  row.gone_at = now;
  return OkStatus();
}

}  // namespace

Status SqliteStorage::PutSecret(const SecretRow& row, bool overwrite, int64_t now,
                                const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT state, expires_at FROM secrets WHERE "
                                                  "vault_id = ? AND name = ?"));
          s->Bind(1, row.vault_id).Bind(2, row.name);
          SIRR_ASSIGN_OR_RETURN(bool found, s->Step());
          if (found) {
            bool live = s->Int(0) == static_cast<int>(SecretState::kLive) &&
                        (!s->OptInt(1) || *s->OptInt(1) > now);
            if (live && !overwrite)
              return AlreadyExistsError("a secret named '" + row.name + "' already exists");
          }
        }
        {
          SIRR_ASSIGN_OR_RETURN(auto s,
                                c.Prepare("DELETE FROM secrets WHERE vault_id = ? AND name = ?"));
          s->Bind(1, row.vault_id).Bind(2, row.name);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        SIRR_ASSIGN_OR_RETURN(auto s,
                              c.Prepare("INSERT INTO secrets (" SECRET_COLS ", value) "
                                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?, ?)"));
        s->Bind(1, row.id).Bind(2, row.vault_id).Bind(3, row.name).Bind(4, row.type);
        s->Bind(5, row.description).Bind(6, row.created_at).Bind(7, row.expires_at);
        s->Bind(8, row.max_reads).Bind(9, row.reads_remaining).Bind(10, row.content_type);
        s->BindBlob(11, row.access_hash);
        s->BindBlob(12, row.value);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<SecretRow> SqliteStorage::GetSecretMeta(std::string_view vault_id,
                                                 std::string_view id_or_name) {
  return WithReader([&](Connection& c) -> StatusOr<SecretRow> {
    SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, false));
    if (!found) return NotFoundError("secret not found");
    return std::move(*found);
  });
}

StatusOr<SecretRow> SqliteStorage::ReadSecret(std::string_view vault_id,
                                              std::string_view id_or_name, int64_t now,
                                              const Journal& journal) {
  // Fastest path: a cached live secret without a read limit, not yet expired. Only such rows
  // are cached (with their sealed value, never plaintext); every write clears the cache.
  CacheKey key{std::string(vault_id), std::string(id_or_name), true};
  uint64_t generation = 0;
  if (auto hit = cache_.Find<SecretRow>(key, &generation, now)) {
    metrics_.cache_hits.Inc();
    return std::move(*hit);
  }
  metrics_.cache_misses.Inc();
  // Fast path: a live, unexpired secret without a read limit needs no write.
  auto fast = WithReader([&](Connection& c) -> StatusOr<std::optional<SecretRow>> {
    return FindSecret(c, vault_id, id_or_name, true);
  });
  if (!fast.ok()) return fast.status();
  if (!*fast) return NotFoundError("secret not found");
  {
    SecretRow& r = **fast;
    bool expired = r.expires_at && *r.expires_at <= now;
    if (r.state == SecretState::kLive && !expired && !r.reads_remaining)
      cache_.Fill(std::move(key), r, generation);
    if (r.state != SecretState::kLive || (!expired && !r.reads_remaining)) {
      r.value = r.state == SecretState::kLive ? std::move(r.value) : Bytes();
      return std::move(r);
    }
  }
  // Slow path: expiry or read accounting, in one write transaction.
  SecretRow out;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, true));
        if (!found) return NotFoundError("secret not found");
        out = std::move(*found);
        if (out.state != SecretState::kLive) {
          out.value.clear();
          return OkStatus();
        }
        if (out.expires_at && *out.expires_at <= now) {
          SIRR_RETURN_IF_ERROR(MarkExpired(c, out, now));
          out.value.clear();
          return AddJournal(c, journal, {.secret = &out});
        }
        if (!out.reads_remaining) return OkStatus();
        if (*out.reads_remaining <= 1) {
          SIRR_ASSIGN_OR_RETURN(auto s,
                                c.Prepare("UPDATE secrets SET state = ?3, value = NULL, "
                                          "reads_remaining = 0, gone_at = ?1 WHERE id = ?2"));
          s->Bind(1, now).Bind(2, out.id).Bind(3, SecretState::kBurned);
          SIRR_RETURN_IF_ERROR(s->Run());
          out.reads_remaining = 0;
          out.gone_at = now;
          // `out` keeps the value: this read is the one that burns it. state stays kLive in the
          // returned row so the caller serves it; the stored row is already kBurned.
          return AddJournal(c, journal, {.secret = &out});
        }
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE secrets SET reads_remaining = "
                                                "reads_remaining - 1 WHERE id = ?"));
        s->Bind(1, out.id);
        SIRR_RETURN_IF_ERROR(s->Run());
        out.reads_remaining = *out.reads_remaining - 1;
        return AddJournal(c, journal, {.secret = &out});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  return out;
}

StatusOr<SecretPage> SqliteStorage::ListSecrets(std::string_view vault_id,
                                                const SecretFilter& filter, int64_t now) {
  return WithReader([&](Connection& c) -> StatusOr<SecretPage> {
    SecretPage page;
    // Prefix match on a half-open range so that LIKE wildcards in the prefix are not special.
    std::string hi = filter.prefix + "\xff";
    {
      SIRR_ASSIGN_OR_RETURN(
          auto s,
          c.Prepare("SELECT count(*) FROM secrets WHERE vault_id = ?1 AND state = " SIRR_SQL_LIVE
                    " AND "
                    "(expires_at IS NULL OR expires_at > ?2) AND (?3 = '' OR type = ?3) "
                    "AND name >= ?4 AND name < ?5"));
      s->Bind(1, vault_id).Bind(2, now).Bind(3, filter.type).Bind(4, filter.prefix).Bind(5, hi);
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      page.total = row ? s->Int(0) : 0;
    }
    SIRR_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT " SECRET_COLS
                          " FROM secrets WHERE vault_id = ?1 AND state = " SIRR_SQL_LIVE " "
                          "AND (expires_at IS NULL OR expires_at > ?2) AND (?3 = '' OR type = ?3) "
                          "AND name >= ?4 AND name < ?5 ORDER BY name LIMIT ?6 OFFSET ?7"));
    s->Bind(1, vault_id).Bind(2, now).Bind(3, filter.type).Bind(4, filter.prefix).Bind(5, hi);
    s->Bind(6, filter.limit).Bind(7, filter.offset);
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      page.rows.push_back(ReadSecretColumns(*s));
    }
    return page;
  });
}

StatusOr<SecretRow> SqliteStorage::DeleteSecret(std::string_view vault_id,
                                                std::string_view id_or_name,
                                                const Journal& journal) {
  SecretRow out;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto found, FindSecret(c, vault_id, id_or_name, false));
        if (!found) return NotFoundError("secret not found");
        out = std::move(*found);
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM secrets WHERE id = ?"));
        s->Bind(1, out.id);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {.secret = &out});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  return out;
}

StatusOr<std::vector<SecretRow>> SqliteStorage::ExpireDue(int64_t now, int limit,
                                                          const Journal& journal) {
  std::vector<SecretRow> out;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(
              auto s, c.Prepare("SELECT " SECRET_COLS " FROM secrets WHERE state = " SIRR_SQL_LIVE
                                " AND expires_at IS NOT NULL AND expires_at <= ? "
                                "ORDER BY expires_at LIMIT ?"));
          s->Bind(1, now).Bind(2, int64_t{limit});
          while (true) {
            SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
            if (!row) break;
            out.push_back(ReadSecretColumns(*s));
          }
        }
        for (auto& r : out) {
          SIRR_RETURN_IF_ERROR(MarkExpired(c, r, now));
          SIRR_RETURN_IF_ERROR(AddJournal(c, journal, {.secret = &r}));
        }
        return OkStatus();
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  return out;
}

StatusOr<int64_t> SqliteStorage::PurgeTombstones(int64_t gone_before) {
  int64_t n = 0;
  Status st = WithWriteTx([&](Connection& c) -> Status {
    SIRR_ASSIGN_OR_RETURN(
        auto s, c.Prepare("DELETE FROM secrets WHERE state != " SIRR_SQL_LIVE " AND gone_at <= ?"));
    s->Bind(1, gone_before);
    SIRR_RETURN_IF_ERROR(s->Run());
    n = sqlite3_changes64(c.db());
    return OkStatus();
  });
  if (!st.ok()) return st;
  return n;
}

}  // namespace sirr::storage
