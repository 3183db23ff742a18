#include "core/instance.h"

#include <mutex>

#include "base/encoding.h"

namespace sirr::core {
namespace {

StatusOr<Bytes> WrapNewVaultKey(const seal::MasterKey& master, std::string_view vault_id,
                                Random& random) {
  SecretBytes vault_key = random.RandomSecret(32);
  return crypto::SealEnvelope(master.wrap_key(), master.key_id(), vault_key.reveal(),
                              crypto::EnvelopeAad("vault-key", vault_id, vault_id), random);
}

}  // namespace

StatusOr<Instance::OpenResult> Instance::Open(storage::Storage& storage, seal::MasterKey master,
                                              const Clock& clock, Random& random) {
  SIRR_ASSIGN_OR_RETURN(auto keyring, storage.ListKeyring());
  const crypto::KeyId& id = master.key_id();
  if (keyring.empty()) {
    SIRR_ASSIGN_OR_RETURN(int64_t vaults, storage.CountVaults());
    if (vaults > 0)
      return DataLossError("the database holds vaults but no keyring; refusing to initialise");
    const int64_t now = clock.NowMillis();
    SIRR_ASSIGN_OR_RETURN(Bytes kcv, master.MakeKeyCheck(1, random));
    storage::KeyringRow key{1, Bytes(id.begin(), id.end()), "active", now, now, std::move(kcv)};
    storage::VaultRow vault;
    vault.id = random.Uuid();
    vault.name = std::string(kDefaultVaultName);
    vault.description = "created at initialisation";
    vault.created_at = now;
    SIRR_ASSIGN_OR_RETURN(vault.wrapped_key, WrapNewVaultKey(master, vault.id, random));
    SIRR_RETURN_IF_ERROR(storage.InitializeInstance(key, vault));
    return OpenResult{std::unique_ptr<Instance>(new Instance(std::move(master), 1)), true};
  }
  std::string versions;
  for (const auto& row : keyring) {
    if (!versions.empty()) versions += ", ";
    versions += std::to_string(row.version) + " (" + HexEncode(row.key_id) + ", " + row.state + ")";
    if (row.key_id.size() != id.size() || !std::equal(id.begin(), id.end(), row.key_id.begin()))
      continue;
    if (row.state == "retired")
      return PermissionDeniedError("the master key is key version " + std::to_string(row.version) +
                                   ", which has been retired");
    SIRR_RETURN_IF_ERROR(master.VerifyKeyCheck(row.version, row.key_check));
    return OpenResult{std::unique_ptr<Instance>(new Instance(std::move(master), row.version)),
                      false};
  }
  return PermissionDeniedError("the master key (id " + crypto::KeyIdHex(id) +
                               ") does not match this database, whose keyring holds version(s) " +
                               versions);
}

StatusOr<std::shared_ptr<const VaultKey>> Instance::KeyFor(const storage::VaultRow& vault) {
  {
    std::shared_lock lock(mu_);
    auto it = vault_keys_.find(vault.id);
    if (it != vault_keys_.end()) return it->second;
  }
  if (vault.wrapped_key.empty()) return NotFoundError("vault '" + vault.name + "' not found");
  auto plain = crypto::OpenEnvelope(master_.wrap_key(), master_.key_id(), vault.wrapped_key,
                                    crypto::EnvelopeAad("vault-key", vault.id, vault.id));
  if (!plain.ok())
    return DataLossError("vault " + vault.name + ": its master key cannot be unwrapped (" +
                         plain.status().message() + ")");
  auto key = std::make_shared<VaultKey>();
  key->id = crypto::DeriveKeyId(*plain);
  SIRR_ASSIGN_OR_RETURN(key->key, crypto::CloakedKey::Cloak(plain->reveal()));
  std::unique_lock lock(mu_);
  auto [it, inserted] = vault_keys_.emplace(vault.id, key);
  return it->second;
}

StatusOr<Bytes> Instance::NewWrappedVaultKey(std::string_view vault_id, Random& random) const {
  return WrapNewVaultKey(master_, vault_id, random);
}

void Instance::Forget(std::string_view vault_id) {
  std::unique_lock lock(mu_);
  auto it = vault_keys_.find(vault_id);
  if (it != vault_keys_.end()) vault_keys_.erase(it);
  for (auto p = parsed_keys_.begin(); p != parsed_keys_.end();)
    p = p->second.vault_id == vault_id ? parsed_keys_.erase(p) : std::next(p);
}

std::shared_ptr<const crypto::ParsedPrivateKey> Instance::ParsedKey(std::string_view key_id) {
  std::shared_lock lock(mu_);
  auto it = parsed_keys_.find(key_id);
  return it == parsed_keys_.end() ? nullptr : it->second.key;
}

void Instance::CacheParsedKey(const std::string& key_id, const std::string& vault_id,
                              std::shared_ptr<const crypto::ParsedPrivateKey> key) {
  std::unique_lock lock(mu_);
  if (parsed_keys_.size() >= kMaxParsedKeys) parsed_keys_.clear();
  parsed_keys_[key_id] = ParsedEntry{vault_id, std::move(key), nullptr};
}

std::shared_ptr<const crypto::hd::Wallet> Instance::Wallet(std::string_view key_id) {
  std::shared_lock lock(mu_);
  auto it = parsed_keys_.find(key_id);
  return it == parsed_keys_.end() ? nullptr : it->second.wallet;
}

void Instance::CacheWallet(const std::string& key_id, const std::string& vault_id,
                           std::shared_ptr<const crypto::hd::Wallet> wallet) {
  std::unique_lock lock(mu_);
  if (parsed_keys_.size() >= kMaxParsedKeys) parsed_keys_.clear();
  parsed_keys_[key_id] = ParsedEntry{vault_id, nullptr, std::move(wallet)};
}

void Instance::ForgetParsedKey(std::string_view key_id) {
  std::unique_lock lock(mu_);
  if (auto it = parsed_keys_.find(key_id); it != parsed_keys_.end()) parsed_keys_.erase(it);
}

}  // namespace sirr::core
