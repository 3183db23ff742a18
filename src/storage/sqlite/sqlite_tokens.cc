// Part of SqliteStorage (sqlite_storage.h): the tokens and token_vaults tables.

#include <string>
#include <type_traits>

#include "storage/sqlite/sqlite_internal.h"

namespace sirr::storage {
using internal::FindByIdOrName;

namespace {
TokenRow ReadTokenColumns(const Stmt& s) {
  TokenRow t;
  t.id = s.Text(0);
  t.name = s.Text(1);
  t.hash = s.Blob(2);
  t.capabilities = s.Text(3);
  t.all_vaults = s.Int(4) != 0;
  t.created_at = s.Int(5);
  t.created_by = s.Text(6);
  t.expires_at = s.OptInt(7);
  t.max_uses = s.OptInt(8);
  t.uses = s.Int(9);
  t.revoked_at = s.OptInt(10);
  return t;
}

#define TOKEN_COLS                                                                           \
  "id, name, hash, capabilities, all_vaults, created_at, created_by, expires_at, max_uses, " \
  "uses, revoked_at"

Status LoadTokenVaults(Connection& c, TokenRow& t);

// The token selected by `sql` (one parameter, `key`) with its vault grants. NotFound.
template <typename Key>
StatusOr<TokenRow> FindToken(Connection& c, const char* sql, const Key& key) {
  TokenRow t;
  {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare(sql));
    if constexpr (std::is_same_v<Key, Bytes>)
      s->BindBlob(1, key);
    else
      s->Bind(1, key);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) return NotFoundError("token not found");
    t = ReadTokenColumns(*s);
  }
  SIRR_RETURN_IF_ERROR(LoadTokenVaults(c, t));
  return t;
}

Status LoadTokenVaults(Connection& c, TokenRow& t) {
  SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT vault_id FROM token_vaults WHERE token_id = ? "
                                          "ORDER BY vault_id"));
  s->Bind(1, t.id);
  while (true) {
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (!row) break;
    t.vault_ids.push_back(s->Text(0));
  }
  return OkStatus();
}

}  // namespace

Status SqliteStorage::CreateToken(const TokenRow& t, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO tokens (" TOKEN_COLS
                                                  ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)"));
          s->Bind(1, t.id).Bind(2, t.name).BindBlob(3, t.hash).Bind(4, t.capabilities);
          s->Bind(5, int64_t{t.all_vaults ? 1 : 0}).Bind(6, t.created_at).Bind(7, t.created_by);
          s->Bind(8, t.expires_at).Bind(9, t.max_uses);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        for (const auto& vault : t.vault_ids) {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT OR IGNORE INTO token_vaults (token_id, "
                                                  "vault_id) VALUES (?, ?)"));
          s->Bind(1, t.id).Bind(2, vault);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<TokenRow> SqliteStorage::FindTokenByHash(const Bytes& hash) {
  return WithReader([&](Connection& c) {
    return FindToken(c, "SELECT " TOKEN_COLS " FROM tokens WHERE hash = ?", hash);
  });
}

StatusOr<TokenRow> SqliteStorage::GetToken(std::string_view id) {
  return WithReader([&](Connection& c) {
    return FindToken(c, "SELECT " TOKEN_COLS " FROM tokens WHERE id = ?", id);
  });
}

StatusOr<bool> SqliteStorage::ConsumeTokenUse(std::string_view id) {
  bool ok = false;
  Status st = WithWriteTx([&](Connection& c) -> Status {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE tokens SET uses = uses + 1 WHERE id = ? AND "
                                            "revoked_at IS NULL AND (max_uses IS NULL OR uses < "
                                            "max_uses)"));
    s->Bind(1, id);
    SIRR_RETURN_IF_ERROR(s->Run());
    ok = sqlite3_changes64(c.db()) == 1;
    return OkStatus();
  });
  if (!st.ok()) return st;
  return ok;
}

StatusOr<std::vector<TokenRow>> SqliteStorage::ListTokens() {
  return WithReader([&](Connection& c) -> StatusOr<std::vector<TokenRow>> {
    std::vector<TokenRow> out;
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " TOKEN_COLS " FROM tokens ORDER BY "
                                              "created_at DESC, id"));
      while (true) {
        SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
        if (!row) break;
        out.push_back(ReadTokenColumns(*s));
      }
    }
    for (auto& t : out) SIRR_RETURN_IF_ERROR(LoadTokenVaults(c, t));
    return out;
  });
}

Status SqliteStorage::RevokeToken(std::string_view id, int64_t now, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        // The token and, transitively, every token it created (created_by = "token:<id>").
        SIRR_ASSIGN_OR_RETURN(
            auto s,
            c.Prepare("WITH RECURSIVE tree(id) AS (SELECT id FROM tokens WHERE id = ?2 UNION "
                      "SELECT t.id FROM tokens t JOIN tree ON t.created_by = 'token:' || "
                      "tree.id) UPDATE tokens SET revoked_at = coalesce(revoked_at, ?1) "
                      "WHERE id IN tree"));
        s->Bind(1, now).Bind(2, id);
        SIRR_RETURN_IF_ERROR(s->Run());
        if (sqlite3_changes64(c.db()) == 0) return NotFoundError("token not found");
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

}  // namespace sirr::storage
