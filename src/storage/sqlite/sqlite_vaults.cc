// Part of SqliteStorage (sqlite_storage.h): the vaults table.

#include <string>

#include "storage/sqlite/sqlite_internal.h"

namespace sirr::storage {
using internal::FindByIdOrName;

#define VAULT_COLS "id, name, description, created_at, wrapped_key, owner"

namespace {
VaultRow ReadVaultColumns(const Stmt& s, bool with_key) {
  return VaultRow{s.Text(0), s.Text(1), s.Text(2), s.Int(3), with_key ? s.Blob(4) : Bytes(),
                  s.Text(5)};
}

// JSON array text of ids, for json_each() in scope filters.
std::string JsonIds(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char ch : id)
      if (ch != '"' && ch != '\\' && static_cast<unsigned char>(ch) >= 0x20) out += ch;
    out += '"';
  }
  return out + "]";
}
}  // namespace

StatusOr<VaultRow> SqliteStorage::GetVault(std::string_view id_or_name,
                                           std::string_view name_owner) {
  return CachedRead<VaultRow>(CacheKey{std::string(id_or_name), std::string(name_owner), false},
                              [&](Connection& c) -> StatusOr<VaultRow> {
                                SIRR_ASSIGN_OR_RETURN(
                                    auto s,
                                    c.Prepare("SELECT " VAULT_COLS " FROM vaults WHERE id = ?1 OR "
                                              "(owner = ?2 AND name = ?1) ORDER BY (id = ?1) DESC "
                                              "LIMIT 1"));
                                s->Bind(1, id_or_name).Bind(2, name_owner);
                                SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
                                if (!row) return NotFoundError("vault not found");
                                return ReadVaultColumns(*s, true);
                              });
}

Status SqliteStorage::CreateVault(const VaultRow& row, std::string_view grant_token_id,
                                  const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s,
                                c.Prepare("SELECT 1 FROM vaults WHERE owner = ? AND name = ?"));
          s->Bind(1, row.owner).Bind(2, row.name);
          SIRR_ASSIGN_OR_RETURN(bool found, s->Step());
          if (found) return AlreadyExistsError("a vault named '" + row.name + "' already exists");
        }
        {
          SIRR_ASSIGN_OR_RETURN(
              auto s, c.Prepare("INSERT INTO vaults (" VAULT_COLS ") VALUES (?, ?, ?, ?, ?, ?)"));
          s->Bind(1, row.id).Bind(2, row.name).Bind(3, row.description).Bind(4, row.created_at);
          s->BindBlob(5, row.wrapped_key).Bind(6, row.owner);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        if (!grant_token_id.empty()) {
          SIRR_ASSIGN_OR_RETURN(
              auto s, c.Prepare("INSERT INTO token_vaults (token_id, vault_id) VALUES (?, ?)"));
          s->Bind(1, grant_token_id).Bind(2, row.id);
          SIRR_RETURN_IF_ERROR(s->Run());
        }
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

// Vaults sirrd keeps for itself (owner "system:…", e.g. the share links' vault) are never listed.
#define SIRR_SQL_NOT_SYSTEM "substr(owner, 1, 7) <> 'system:'"

StatusOr<VaultPage> SqliteStorage::ListVaults(const VaultScope& scope, int64_t offset,
                                              int64_t limit) {
  return WithReader([&](Connection& c) -> StatusOr<VaultPage> {
    VaultPage page;
    const std::string ids = JsonIds(scope.ids);
    const int64_t everything = scope.everything ? 1 : 0;
    const std::optional<std::string>& owner = scope.owner;
    auto bind = [&](Stmt& s) {
      s.Bind(1, everything);
      if (owner)
        s.Bind(2, std::string_view(*owner));
      else
        s.Bind(2, std::optional<int64_t>());
      s.Bind(3, std::string_view(ids));
    };
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM vaults WHERE (?1 OR owner = ?2 "
                                              "OR id IN (SELECT value FROM json_each(?3))) "
                                              "AND " SIRR_SQL_NOT_SYSTEM));
      bind(*s);
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      page.total = row ? s->Int(0) : 0;
    }
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " VAULT_COLS " FROM vaults WHERE (?1 OR "
                                            "owner = ?2 OR id IN (SELECT value FROM "
                                            "json_each(?3))) AND " SIRR_SQL_NOT_SYSTEM
                                            " ORDER BY owner, name LIMIT ?4 OFFSET ?5"));
    bind(*s);
    s->Bind(4, limit).Bind(5, offset);
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      page.rows.push_back(ReadVaultColumns(*s, false));
    }
    return page;
  });
}

StatusOr<int64_t> SqliteStorage::CountLiveSecrets(std::string_view vault_id) {
  return WithReader([&](Connection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(
        auto s,
        c.Prepare("SELECT count(*) FROM secrets WHERE vault_id = ? AND state = " SIRR_SQL_LIVE));
    s->Bind(1, vault_id);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    return row ? s->Int(0) : 0;
  });
}

Status SqliteStorage::ShredVaultKey(std::string_view vault_id, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        // secure_delete zeroes the freed bytes of the old value in the page.
        SIRR_ASSIGN_OR_RETURN(auto s,
                              c.Prepare("UPDATE vaults SET wrapped_key = X'' WHERE id = ?"));
        s->Bind(1, vault_id);
        SIRR_RETURN_IF_ERROR(s->Run());
        if (sqlite3_changes64(c.db()) == 0) return NotFoundError("vault not found");
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<int64_t> SqliteStorage::DeleteVault(std::string_view vault_id, const Journal& journal) {
  int64_t removed = 0;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM secrets WHERE vault_id = ?"));
          s->Bind(1, vault_id);
          SIRR_RETURN_IF_ERROR(s->Run());
          removed = sqlite3_changes64(c.db());
        }
        {
          SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM keys WHERE vault_id = ?"));
          s->Bind(1, vault_id);
          SIRR_RETURN_IF_ERROR(s->Run());
          removed += sqlite3_changes64(c.db());
        }
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM vaults WHERE id = ?"));
        s->Bind(1, vault_id);
        SIRR_RETURN_IF_ERROR(s->Run());
        if (sqlite3_changes64(c.db()) == 0) return NotFoundError("vault not found");
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  SIRR_RETURN_IF_ERROR(CompactLog());
  return removed;
}

}  // namespace sirr::storage
