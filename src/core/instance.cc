#include "core/instance.h"

#include <mutex>

#include "base/encoding.h"
#include "core/audited.h"

namespace sirr::core {
namespace {

// A vault master key wrapped by `master` (envelope v1, AAD "sirr/v1/vault-key/<id>/<id>").
StatusOr<Bytes> WrapVaultKeyWith(const seal::MasterKey& master, std::string_view vault_id,
                                 const SecretBytes& vault_key, Random& random) {
  return crypto::SealEnvelope(master.wrap_key(), master.key_id(), vault_key.reveal(),
                              crypto::EnvelopeAad("vault-key", vault_id, vault_id), random);
}

StatusOr<Bytes> WrapNewVaultKey(const seal::MasterKey& master, std::string_view vault_id,
                                Random& random) {
  return WrapVaultKeyWith(master, vault_id, random.RandomSecret(32), random);
}

bool SameId(const Bytes& stored, const crypto::KeyId& id) {
  return stored.size() == id.size() && std::equal(id.begin(), id.end(), stored.begin());
}

std::string Describe(const storage::KeyringRow& row) {
  return "version " + std::to_string(row.version) + " (" + HexEncode(row.key_id) + ", " +
         row.state + ")";
}

}  // namespace

StatusOr<Instance::OpenResult> Instance::Open(storage::Storage& storage, seal::MasterKey master,
                                              std::optional<seal::MasterKey> next,
                                              const Clock& clock, Random& random) {
  SIRR_ASSIGN_OR_RETURN(auto before, storage.ListKeyring());
  SIRR_ASSIGN_OR_RETURN(OpenResult opened,
                        OpenKeys(storage, std::move(master), std::move(next), clock, random));
  SIRR_RETURN_IF_ERROR(opened.instance->LoadAuditKey(storage, before, random));
  return opened;
}

Status Instance::LoadAuditKey(storage::Storage& storage,
                              const std::vector<storage::KeyringRow>& before, Random& random) {
  SIRR_ASSIGN_OR_RETURN(auto keyring, storage.ListKeyring());
  std::vector<const seal::MasterKey*> held = {&master_};
  if (retiring_) held.push_back(&*retiring_);
  auto holder = [&](const storage::KeyringRow& row) -> const seal::MasterKey* {
    for (const seal::MasterKey* k : held)
      if (SameId(row.key_id, k->key_id())) return k;
    return nullptr;
  };
  std::optional<SecretBytes> key;
  for (const auto& row : keyring) {
    const seal::MasterKey* k = holder(row);
    if (!k || row.audit_key.empty()) continue;
    SIRR_ASSIGN_OR_RETURN(SecretBytes unwrapped, k->UnwrapAuditKey(row.version, row.audit_key));
    key = std::move(unwrapped);
    break;
  }
  if (!key) {
    // None stored yet: a new instance, or one written before schema 7. The chain key is the
    // one its log has used so far: the HKDF audit key of the master key in use, which is the
    // older key when this very open started a rotation.
    bool added_now = retiring_.has_value();
    for (const auto& row : before) added_now = added_now && row.version != key_version_;
    key = added_now ? retiring_->audit_key() : master_.audit_key();
  }
  for (const auto& row : keyring) {
    const seal::MasterKey* k = holder(row);
    if (!k || !row.audit_key.empty()) continue;
    SIRR_ASSIGN_OR_RETURN(Bytes wrapped, k->WrapAuditKey(row.version, *key, random));
    SIRR_RETURN_IF_ERROR(storage.SetAuditKey(row.version, wrapped));
  }
  SIRR_ASSIGN_OR_RETURN(audit_key_, crypto::CloakedKey::Cloak(key->reveal()));
  return OkStatus();
}

StatusOr<Instance::OpenResult> Instance::OpenKeys(storage::Storage& storage, seal::MasterKey master,
                                                  std::optional<seal::MasterKey> next,
                                                  const Clock& clock, Random& random) {
  SIRR_ASSIGN_OR_RETURN(auto keyring, storage.ListKeyring());
  const crypto::KeyId& id = master.key_id();
  if (keyring.empty()) {
    if (next)
      return FailedPreconditionError(
          "SIRR_KEY_FILE_NEW is set but the database is empty: start once with a single key");
    SIRR_ASSIGN_OR_RETURN(int64_t vaults, storage.CountVaults());
    if (vaults > 0)
      return DataLossError("the database holds vaults but no keyring; refusing to initialise");
    const int64_t now = clock.NowMillis();
    SIRR_ASSIGN_OR_RETURN(Bytes kcv, master.MakeKeyCheck(1, random));
    // The audit chain key of a new instance: the first master key's HKDF audit key, wrapped in
    // its row (every later version gets it wrapped too, see LoadAuditKey).
    SIRR_ASSIGN_OR_RETURN(Bytes audit_key, master.WrapAuditKey(1, master.audit_key(), random));
    storage::KeyringRow key{
        1, Bytes(id.begin(), id.end()), "active", now, now, std::move(kcv), std::move(audit_key)};
    storage::VaultRow vault;
    vault.id = random.Uuid();
    vault.name = std::string(kDefaultVaultName);
    vault.description = "created at initialisation";
    vault.created_at = now;
    SIRR_ASSIGN_OR_RETURN(vault.wrapped_key, WrapNewVaultKey(master, vault.id, random));
    SIRR_RETURN_IF_ERROR(storage.InitializeInstance(
        key, vault,
        SystemJournal("instance.initialize",
                      "keyring version 1 (" + HexEncode(key.key_id) + ") and vault '" + vault.name +
                          "' (" + vault.id + ") created",
                      clock)));
    return OpenResult{std::unique_ptr<Instance>(new Instance(std::move(master), 1)), true};
  }
  std::string versions;
  const storage::KeyringRow* mine = nullptr;
  const storage::KeyringRow* newest = &keyring.back();  // ordered by version
  const storage::KeyringRow* active = nullptr;
  for (const auto& row : keyring) {
    versions += (versions.empty() ? "" : ", ") + Describe(row);
    if (SameId(row.key_id, id)) mine = &row;
    if (row.state == "active") active = &row;
  }
  if (!mine)
    return PermissionDeniedError("the master key (id " + crypto::KeyIdHex(id) +
                                 ") does not match this database, whose keyring holds " + versions);
  SIRR_RETURN_IF_ERROR(master.VerifyKeyCheck(mine->version, mine->key_check));
  const int64_t now = clock.NowMillis();

  if (next) {
    if (next->key_id() == id)
      return InvalidArgumentError("SIRR_KEY_FILE_NEW holds the same key as SIRR_KEY_FILE");
    const storage::KeyringRow* theirs = nullptr;
    for (const auto& row : keyring)
      if (SameId(row.key_id, next->key_id())) theirs = &row;
    if (!theirs) {
      if (mine->state != "active")
        return FailedPreconditionError("key " + Describe(*mine) +
                                       " is not the active key; the database has moved to " +
                                       (active ? Describe(*active) : "another version") +
                                       ": finish that rotation before starting another");
      const int version = newest->version + 1;
      SIRR_ASSIGN_OR_RETURN(Bytes kcv, next->MakeKeyCheck(version, random));
      const crypto::KeyId& nid = next->key_id();
      SIRR_RETURN_IF_ERROR(storage.AddKeyVersion(
          {version, Bytes(nid.begin(), nid.end()), "active", now, now, std::move(kcv), {}},
          SystemJournal("keys.version_add",
                        "key version " + std::to_string(version) + " (" +
                            HexEncode(Bytes(nid.begin(), nid.end())) +
                            ") added as active (SIRR_KEY_FILE_NEW); older versions retiring",
                        clock)));
      auto inst = std::unique_ptr<Instance>(new Instance(std::move(*next), version));
      inst->retiring_ = std::move(master);
      return OpenResult{std::move(inst), false};
    }
    SIRR_RETURN_IF_ERROR(next->VerifyKeyCheck(theirs->version, theirs->key_check));
    if (theirs->state != "active")
      return FailedPreconditionError("SIRR_KEY_FILE_NEW is key " + Describe(*theirs) +
                                     ", not the active key");
    auto inst = std::unique_ptr<Instance>(new Instance(std::move(*next), theirs->version));
    if (mine->state != "retired") inst->retiring_ = std::move(master);
    return OpenResult{std::move(inst), false};
  }

  if (mine->state == "retired" || (mine->state == "retiring" && active && active != mine)) {
    std::string moved = active ? Describe(*active) : "a newer version";
    if (mine->state == "retired")
      return PermissionDeniedError("the master key is key " + Describe(*mine) +
                                   "; the database has moved to key " + moved +
                                   ": start with that key");
    SIRR_ASSIGN_OR_RETURN(int64_t moved_count, storage.CountVaultKeys(active->key_id, true));
    return PermissionDeniedError("the master key is key " + Describe(*mine) +
                                 "; a rotation to key " + moved + " is in progress (" +
                                 std::to_string(moved_count) +
                                 " vault key(s) already use it): start with SIRR_KEY_FILE_NEW "
                                 "set to that key as well");
  }
  // Older versions still wrapping vault keys need their key; finished ones become retired.
  for (const auto& row : keyring) {
    if (row.version == mine->version || row.state != "retiring") continue;
    SIRR_ASSIGN_OR_RETURN(int64_t still, storage.CountVaultKeys(row.key_id, true));
    if (still > 0)
      return PermissionDeniedError(
          std::to_string(still) + " vault key(s) are still wrapped by key " + Describe(row) +
          ": start with SIRR_KEY_FILE set to that key and SIRR_KEY_FILE_NEW set to this one, "
          "and finish the rotation (POST /api/v1/admin/rotate-keys)");
    SIRR_RETURN_IF_ERROR(storage.SetKeyState(
        row.version, "retired", now,
        SystemJournal("keys.version_retire",
                      "key version " + std::to_string(row.version) + " retired", clock)));
  }
  return OpenResult{std::unique_ptr<Instance>(new Instance(std::move(master), mine->version)),
                    false};
}

bool Instance::HoldsKey(const crypto::KeyId& id) const {
  return master_.key_id() == id || (retiring_ && retiring_->key_id() == id);
}

StatusOr<SecretBytes> Instance::UnwrapVaultKey(const storage::VaultRow& vault) const {
  if (vault.wrapped_key.empty()) return NotFoundError("vault '" + vault.name + "' not found");
  // The envelope names the master key version that sealed it.
  const seal::MasterKey* key = &master_;
  if (auto sealed_by = crypto::EnvelopeKeyId(vault.wrapped_key);
      retiring_ && sealed_by.ok() && *sealed_by == retiring_->key_id())
    key = &*retiring_;
  auto plain = crypto::OpenEnvelope(key->wrap_key(), key->key_id(), vault.wrapped_key,
                                    crypto::EnvelopeAad("vault-key", vault.id, vault.id));
  if (!plain.ok())
    return DataLossError("vault " + vault.name + ": its master key cannot be unwrapped (" +
                         plain.status().message() + ")");
  return plain;
}

StatusOr<Bytes> Instance::WrapVaultKey(std::string_view vault_id, const SecretBytes& vault_key,
                                       Random& random) const {
  return WrapVaultKeyWith(master_, vault_id, vault_key, random);
}

StatusOr<std::shared_ptr<const VaultKey>> Instance::KeyFor(const storage::VaultRow& vault) {
  // Shredded (perhaps by another node, whose Forget() this node never saw): the cached key
  // must not outlive the wrapped one.
  if (vault.wrapped_key.empty()) {
    Forget(vault.id);
    return NotFoundError("vault not found");
  }
  {
    std::shared_lock lock(mu_);
    auto it = vault_keys_.find(vault.id);
    if (it != vault_keys_.end()) {
      it->second.used.store(true, std::memory_order_relaxed);
      return it->second.key;
    }
  }
  SIRR_ASSIGN_OR_RETURN(SecretBytes plain, UnwrapVaultKey(vault));
  auto key = std::make_shared<VaultKey>();
  key->id = crypto::DeriveKeyId(plain);
  SIRR_ASSIGN_OR_RETURN(key->key, crypto::CloakedKey::Cloak(plain.reveal()));
  std::unique_lock lock(mu_);
  if (auto it = vault_keys_.find(vault.id); it != vault_keys_.end()) return it->second.key;
  // CLOCK eviction: sweep from the hand, giving each used key a second chance.
  while (!vault_keys_.empty() && vault_keys_.size() >= vault_key_limit_.load()) {
    auto hand = vault_keys_.upper_bound(clock_hand_);
    if (hand == vault_keys_.end()) hand = vault_keys_.begin();
    clock_hand_ = hand->first;
    if (hand->second.used.exchange(false, std::memory_order_relaxed)) continue;
    vault_keys_.erase(hand);  // wiped once no request holds it any more
  }
  // A new key starts without its second chance: a key used once goes before one used again.
  auto& entry = vault_keys_[vault.id];
  entry.key = std::move(key);
  entry.used.store(false, std::memory_order_relaxed);
  return entry.key;
}

size_t Instance::cached_vault_keys() {
  std::shared_lock lock(mu_);
  return vault_keys_.size();
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
