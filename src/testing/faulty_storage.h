#pragma once

// Test-only: a Storage that forwards to another and fails on demand, in the spirit of LevelDB's
// Env: `Fail("PutSecret", status)` makes every later call of that method return `status`
// without reaching the real storage (so nothing changes), until `Heal()`.
//
// Thread safety: as the wrapped storage; the fault table is guarded by its own mutex.

#include <map>
#include <mutex>
#include <string>

#include "storage/storage.h"

namespace sirr::testing {

class FaultyStorage final : public storage::Storage {
 public:
  explicit FaultyStorage(storage::Storage& inner) : inner_(inner) {}

  void Fail(const std::string& method, Status status) {
    std::lock_guard lock(mu_);
    faults_[method] = std::move(status);
  }
  void Heal() {
    std::lock_guard lock(mu_);
    faults_.clear();
  }

  StatusOr<std::vector<storage::KeyringRow>> ListKeyring() override {
    SIRR_RETURN_IF_ERROR(Check("ListKeyring"));
    return inner_.ListKeyring();
  }
  Status SetAuditKey(int version, const Bytes& wrapped) override {
    SIRR_RETURN_IF_ERROR(Check("SetAuditKey"));
    return inner_.SetAuditKey(version, wrapped);
  }
  Status AddKeyVersion(const storage::KeyringRow& row, const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("AddKeyVersion"));
    return inner_.AddKeyVersion(row, journal);
  }
  Status SetKeyState(int version, std::string_view state, int64_t now,
                     const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("SetKeyState"));
    return inner_.SetKeyState(version, state, now, journal);
  }
  StatusOr<int64_t> CountVaultKeys(const Bytes& key_id, bool wrapped_by) override {
    SIRR_RETURN_IF_ERROR(Check("CountVaultKeys"));
    return inner_.CountVaultKeys(key_id, wrapped_by);
  }
  StatusOr<std::vector<storage::VaultRow>> VaultsNotWrappedBy(const Bytes& key_id,
                                                              std::string_view after,
                                                              int limit) override {
    SIRR_RETURN_IF_ERROR(Check("VaultsNotWrappedBy"));
    return inner_.VaultsNotWrappedBy(key_id, after, limit);
  }
  StatusOr<int64_t> RewrapVaultKeys(const std::vector<storage::Storage::Rewrap>& rewraps,
                                    const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("RewrapVaultKeys"));
    return inner_.RewrapVaultKeys(rewraps, journal);
  }
  Status BackupTo(const std::string& dest) override {
    SIRR_RETURN_IF_ERROR(Check("BackupTo"));
    return inner_.BackupTo(dest);
  }
  StatusOr<int64_t> CountVaults() override {
    SIRR_RETURN_IF_ERROR(Check("CountVaults"));
    return inner_.CountVaults();
  }
  Status InitializeInstance(const storage::KeyringRow& key, const storage::VaultRow& vault,
                            const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("InitializeInstance"));
    return inner_.InitializeInstance(key, vault, journal);
  }
  StatusOr<storage::VaultRow> GetVault(std::string_view id_or_name,
                                       std::string_view name_owner) override {
    SIRR_RETURN_IF_ERROR(Check("GetVault"));
    return inner_.GetVault(id_or_name, name_owner);
  }
  Status CreateVault(const storage::VaultRow& row, std::string_view grant_token_id,
                     const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("CreateVault"));
    return inner_.CreateVault(row, grant_token_id, journal);
  }
  StatusOr<storage::VaultPage> ListVaults(const storage::VaultScope& scope, int64_t offset,
                                          int64_t limit) override {
    SIRR_RETURN_IF_ERROR(Check("ListVaults"));
    return inner_.ListVaults(scope, offset, limit);
  }
  StatusOr<int64_t> CountLiveSecrets(std::string_view vault_id) override {
    SIRR_RETURN_IF_ERROR(Check("CountLiveSecrets"));
    return inner_.CountLiveSecrets(vault_id);
  }
  Status ShredVaultKey(std::string_view vault_id, const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("ShredVaultKey"));
    return inner_.ShredVaultKey(vault_id, journal);
  }
  StatusOr<int64_t> DeleteVault(std::string_view vault_id,
                                const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("DeleteVault"));
    return inner_.DeleteVault(vault_id, journal);
  }
  Status CreateToken(const storage::TokenRow& row, const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("CreateToken"));
    return inner_.CreateToken(row, journal);
  }
  StatusOr<storage::TokenRow> FindTokenByHash(const Bytes& hash) override {
    SIRR_RETURN_IF_ERROR(Check("FindTokenByHash"));
    return inner_.FindTokenByHash(hash);
  }
  StatusOr<storage::TokenRow> GetToken(std::string_view id) override {
    SIRR_RETURN_IF_ERROR(Check("GetToken"));
    return inner_.GetToken(id);
  }
  StatusOr<bool> ConsumeTokenUse(std::string_view id) override {
    SIRR_RETURN_IF_ERROR(Check("ConsumeTokenUse"));
    return inner_.ConsumeTokenUse(id);
  }
  StatusOr<std::vector<storage::TokenRow>> ListTokens() override {
    SIRR_RETURN_IF_ERROR(Check("ListTokens"));
    return inner_.ListTokens();
  }
  Status RevokeToken(std::string_view id, int64_t now, const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("RevokeToken"));
    return inner_.RevokeToken(id, now, journal);
  }
  Status PutSecret(const storage::SecretRow& row, bool overwrite, int64_t now,
                   const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("PutSecret"));
    return inner_.PutSecret(row, overwrite, now, journal);
  }
  StatusOr<storage::SecretRow> GetSecretMeta(std::string_view vault_id,
                                             std::string_view id_or_name) override {
    SIRR_RETURN_IF_ERROR(Check("GetSecretMeta"));
    return inner_.GetSecretMeta(vault_id, id_or_name);
  }
  StatusOr<storage::SecretRow> ReadSecret(std::string_view vault_id, std::string_view id_or_name,
                                          int64_t now, const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("ReadSecret"));
    return inner_.ReadSecret(vault_id, id_or_name, now, journal);
  }
  StatusOr<storage::SecretPage> ListSecrets(std::string_view vault_id,
                                            const storage::SecretFilter& filter,
                                            int64_t now) override {
    SIRR_RETURN_IF_ERROR(Check("ListSecrets"));
    return inner_.ListSecrets(vault_id, filter, now);
  }
  StatusOr<storage::SecretRow> DeleteSecret(std::string_view vault_id, std::string_view id_or_name,
                                            const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("DeleteSecret"));
    return inner_.DeleteSecret(vault_id, id_or_name, journal);
  }
  StatusOr<std::vector<storage::SecretRow>> ExpireDue(int64_t now, int limit,
                                                      const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("ExpireDue"));
    return inner_.ExpireDue(now, limit, journal);
  }
  StatusOr<int64_t> PurgeTombstones(int64_t gone_before) override {
    SIRR_RETURN_IF_ERROR(Check("PurgeTombstones"));
    return inner_.PurgeTombstones(gone_before);
  }
  Status CreateKey(const storage::KeyRow& row, const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("CreateKey"));
    return inner_.CreateKey(row, journal);
  }
  StatusOr<storage::KeyRow> GetKey(std::string_view vault_id, std::string_view id_or_name,
                                   bool with_material) override {
    SIRR_RETURN_IF_ERROR(Check("GetKey"));
    return inner_.GetKey(vault_id, id_or_name, with_material);
  }
  StatusOr<storage::KeyPage> ListKeys(std::string_view vault_id,
                                      const storage::KeyFilter& filter) override {
    SIRR_RETURN_IF_ERROR(Check("ListKeys"));
    return inner_.ListKeys(vault_id, filter);
  }
  StatusOr<int64_t> CountKeys(std::string_view vault_id) override {
    SIRR_RETURN_IF_ERROR(Check("CountKeys"));
    return inner_.CountKeys(vault_id);
  }
  StatusOr<storage::KeyRow> DeleteKey(std::string_view vault_id, std::string_view id_or_name,
                                      const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("DeleteKey"));
    return inner_.DeleteKey(vault_id, id_or_name, journal);
  }
  StatusOr<int64_t> NextHdIndex(std::string_view vault_id, std::string_view key_id,
                                const storage::Journal& journal) override {
    SIRR_RETURN_IF_ERROR(Check("NextHdIndex"));
    return inner_.NextHdIndex(vault_id, key_id, journal);
  }
  Status SaveAuditHead(int64_t seq, const Bytes& mac, int64_t journal_written) override {
    SIRR_RETURN_IF_ERROR(Check("SaveAuditHead"));
    return inner_.SaveAuditHead(seq, mac, journal_written);
  }
  StatusOr<std::vector<storage::JournalEntry>> ReadJournal(int64_t after, int limit) override {
    SIRR_RETURN_IF_ERROR(Check("ReadJournal"));
    return inner_.ReadJournal(after, limit);
  }
  void SetJournalSink(storage::JournalSink* sink) override { inner_.SetJournalSink(sink); }
  const storage::StorageMetrics& metrics() const override { return inner_.metrics(); }
  StatusOr<storage::LiveCounts> CountLive(int64_t now) override {
    SIRR_RETURN_IF_ERROR(Check("CountLive"));
    return inner_.CountLive(now);
  }
  StatusOr<std::optional<std::pair<int64_t, Bytes>>> LoadAuditHead() override {
    SIRR_RETURN_IF_ERROR(Check("LoadAuditHead"));
    return inner_.LoadAuditHead();
  }

 private:
  Status Check(const char* method) {
    std::lock_guard lock(mu_);
    auto it = faults_.find(method);
    return it == faults_.end() ? OkStatus() : it->second;
  }

  storage::Storage& inner_;
  std::mutex mu_;
  std::map<std::string, Status> faults_;  // guarded by mu_
};

}  // namespace sirr::testing
