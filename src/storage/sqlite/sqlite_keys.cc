// Part of SqliteStorage (sqlite_storage.h): the keys table.

#include <string>

#include "storage/sqlite/sqlite_internal.h"

namespace sirr::storage {

#define KEY_COLS \
  "id, vault_id, name, description, spec, type, usage, created_at, public_key, material"
#define KEY_READ_COLS KEY_COLS ", hd_last_index"

namespace {
KeyRow ReadKeyColumns(const Stmt& s, bool with_material) {
  KeyRow k;
  k.id = s.Text(0);
  k.vault_id = s.Text(1);
  k.name = s.Text(2);
  k.description = s.Text(3);
  k.spec = s.Text(4);
  k.type = s.Text(5);
  k.usage = s.Text(6);
  k.created_at = s.Int(7);
  k.public_key = s.Blob(8);
  if (with_material) k.material = s.Blob(9);
  k.hd_last_index = s.OptInt(10);
  return k;
}

// The key by id, else by name (an id match wins). Names are labels, not unique: a name that
// more than one key in the vault carries is refused (FailedPrecondition, 409) with their ids.
StatusOr<std::optional<KeyRow>> FindKey(Connection& c, std::string_view vault_id,
                                        std::string_view id_or_name, bool with_material) {
  if (LooksLikeId(id_or_name)) {
    SIRR_ASSIGN_OR_RETURN(
        auto s, c.Prepare("SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = ?1 AND id = ?2"));
    s->Bind(1, vault_id).Bind(2, id_or_name);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    if (row) return std::optional<KeyRow>(ReadKeyColumns(*s, with_material));
  }
  SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = ?1 "
                                          "AND name = ?2 ORDER BY created_at, id LIMIT 2"));
  s->Bind(1, vault_id).Bind(2, id_or_name);
  SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
  if (!row) return std::optional<KeyRow>();
  KeyRow first = ReadKeyColumns(*s, with_material);
  SIRR_ASSIGN_OR_RETURN(bool second, s->Step());
  if (!second) return std::optional<KeyRow>(std::move(first));
  s.reset();
  constexpr int64_t kListed = 10;
  SIRR_ASSIGN_OR_RETURN(auto ids, c.Prepare("SELECT id FROM keys WHERE vault_id = ?1 AND name = ?2 "
                                            "ORDER BY created_at, id LIMIT ?3"));
  ids->Bind(1, vault_id).Bind(2, id_or_name).Bind(3, kListed + 1);
  std::string listed;
  int64_t n = 0;
  while (true) {
    SIRR_ASSIGN_OR_RETURN(bool more, ids->Step());
    if (!more) break;
    if (++n > kListed) {
      listed += ", ...";
      break;
    }
    listed += (listed.empty() ? "" : ", ") + ids->Text(0);
  }
  return FailedPreconditionError("key name '" + std::string(id_or_name) +
                                 "' is ambiguous: several keys in this vault carry it (ids " +
                                 listed + "); address the key by its id");
}
}  // namespace

Status SqliteStorage::CreateKey(const KeyRow& k, const Journal& journal) {
  return WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("INSERT INTO keys (" KEY_COLS
                                                ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
        s->Bind(1, k.id).Bind(2, k.vault_id).Bind(3, k.name).Bind(4, k.description);
        s->Bind(5, k.spec).Bind(6, k.type).Bind(7, k.usage).Bind(8, k.created_at);
        s->BindBlob(9, k.public_key).BindBlob(10, k.material);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {});
      },
      nullptr, &journal);
}

StatusOr<KeyRow> SqliteStorage::GetKey(std::string_view vault_id, std::string_view id_or_name,
                                       bool with_material) {
  return CachedRead<KeyRow>(CacheKey{std::string(vault_id), std::string(id_or_name), with_material},
                            [&](Connection& c) -> StatusOr<KeyRow> {
                              SIRR_ASSIGN_OR_RETURN(
                                  auto found, FindKey(c, vault_id, id_or_name, with_material));
                              if (!found) return NotFoundError("key not found");
                              return std::move(*found);
                            });
}

StatusOr<KeyPage> SqliteStorage::ListKeys(std::string_view vault_id, const KeyFilter& filter) {
  return WithReader([&](Connection& c) -> StatusOr<KeyPage> {
    KeyPage page;
    {
      SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM keys WHERE vault_id = ?1 AND "
                                              "(?2 = '' OR spec = ?2) AND (?3 = '' OR type = ?3)"));
      s->Bind(1, vault_id).Bind(2, filter.spec).Bind(3, filter.type);
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      page.total = row ? s->Int(0) : 0;
    }
    SIRR_ASSIGN_OR_RETURN(auto s,
                          c.Prepare("SELECT " KEY_READ_COLS " FROM keys WHERE vault_id = ?1 "
                                    "AND (?2 = '' OR spec = ?2) AND (?3 = '' OR type = "
                                    "?3) ORDER BY created_at, id LIMIT ?4 OFFSET ?5"));
    s->Bind(1, vault_id).Bind(2, filter.spec).Bind(3, filter.type);
    s->Bind(4, filter.limit).Bind(5, filter.offset);
    while (true) {
      SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
      if (!row) break;
      page.rows.push_back(ReadKeyColumns(*s, false));
    }
    return page;
  });
}

StatusOr<int64_t> SqliteStorage::CountKeys(std::string_view vault_id) {
  return WithReader([&](Connection& c) -> StatusOr<int64_t> {
    SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("SELECT count(*) FROM keys WHERE vault_id = ?"));
    s->Bind(1, vault_id);
    SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
    return row ? s->Int(0) : 0;
  });
}

StatusOr<int64_t> SqliteStorage::NextHdIndex(std::string_view vault_id, std::string_view key_id,
                                             const Journal& journal) {
  int64_t index = 0;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("UPDATE keys SET hd_last_index = hd_next_index, "
                                                "hd_next_index = hd_next_index + 1 WHERE vault_id "
                                                "= ? AND id = ? RETURNING hd_last_index"));
        s->Bind(1, vault_id).Bind(2, key_id);
        SIRR_ASSIGN_OR_RETURN(bool row, s->Step());
        if (!row) return NotFoundError("key not found");
        index = s->Int(0);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {.index = index});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  return index;
}

StatusOr<KeyRow> SqliteStorage::DeleteKey(std::string_view vault_id, std::string_view id_or_name,
                                          const Journal& journal) {
  KeyRow out;
  Status st = WithWriteTx(
      [&](Connection& c) -> Status {
        SIRR_ASSIGN_OR_RETURN(auto found, FindKey(c, vault_id, id_or_name, false));
        if (!found) return NotFoundError("key not found");
        out = std::move(*found);
        SIRR_ASSIGN_OR_RETURN(auto s, c.Prepare("DELETE FROM keys WHERE id = ?"));
        s->Bind(1, out.id);
        SIRR_RETURN_IF_ERROR(s->Run());
        return AddJournal(c, journal, {.key = &out});
      },
      nullptr, &journal);
  if (!st.ok()) return st;
  return out;
}

}  // namespace sirr::storage
