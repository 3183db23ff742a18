#include "core/seal_keeper.h"

#include <chrono>
#include <thread>

#include "base/encoding.h"
#include "core/audit_journal.h"
#include "crypto/crypto.h"

namespace sirr::core {

SealKeeper::SealKeeper(storage::Storage& storage, audit::AuditLog& audit, const Clock& clock,
                       Random& random, SealOptions options)
    : storage_(storage),
      audit_(audit),
      clock_(clock),
      random_(random),
      options_(std::move(options)) {}

SealKeeper::~SealKeeper() { Seal(); }

StatusOr<UnsealResult> SealKeeper::Unseal(SecretBytes master_key) {
  if (master_key.size() != seal::kMasterKeySize)
    return InvalidArgumentError("the master key must be 32 bytes");
  // A degenerate key (all zero, one repeated byte, a few values): not random, refused. 32
  // random bytes have ~28 distinct values; fewer than 8 happens by chance with p < 2^-100.
  bool seen[256] = {};
  int distinct = 0;
  for (uint8_t b : master_key.reveal()) distinct += seen[b] ? 0 : 1, seen[b] = true;
  SecureWipe(seen, sizeof seen);
  if (distinct < 8)
    return InvalidArgumentError(
        "the master key is degenerate (all zero or nearly constant bytes), not random: generate "
        "one with 'sirr operator keygen' or 'openssl rand -base64 32'");
  if (options_.validation_hash) {
    SIRR_ASSIGN_OR_RETURN(auto digest, seal::ValidationDigest(master_key));
    if (!ConstantTimeEquals(digest, *options_.validation_hash))
      return PermissionDeniedError("the key does not match SEAL_UNSEAL_VALIDATION_HASH");
  }
  SIRR_ASSIGN_OR_RETURN(seal::MasterKey master, seal::MasterKey::Derive(std::move(master_key)));

  std::lock_guard transition(transition_mu_);
  if (auto current = Acquire(); current.ok()) {
    const Instance& inst = **current;
    if (!inst.HoldsKey(master.key_id()))
      return PermissionDeniedError("the key does not match the unsealed instance's master key");
    return UnsealResult{true, false, inst.key_version()};
  }
  std::optional<seal::MasterKey> next;
  if (!next_key_.empty()) {
    SIRR_ASSIGN_OR_RETURN(seal::MasterKey derived, seal::MasterKey::Derive(next_key_.Decloak()));
    next = std::move(derived);
  }
  // Never a new instance where earlier data shows: an empty database beside an audit log
  // that holds records is a lost or replaced database, not a first start.
  SIRR_ASSIGN_OR_RETURN(auto keyring, storage_.ListKeyring());
  if (keyring.empty() && audit_.HasRecords())
    return FailedPreconditionError(
        "the database is empty but the audit log already holds records: refusing to initialise "
        "a new instance over earlier data (restore the database with 'sirrd restore', or move "
        "the audit log away if this really is a new instance)");
  SIRR_ASSIGN_OR_RETURN(
      auto opened, Instance::Open(storage_, std::move(master), std::move(next), clock_, random_));
  auto recorded = storage_.LoadAuditHead();
  if (!recorded.ok()) return recorded.status();
  const int64_t recorded_seq = recorded->has_value() ? (*recorded)->first : 0;
  opened.instance->set_vault_key_limit(options_.vault_key_cache);
  const Instance& inst = *opened.instance;
  SIRR_RETURN_IF_ERROR(audit_.Unseal(inst.audit_key(), crypto::KeyIdHex(inst.master().key_id()),
                                     recorded_seq, AuditJournal::Reader(storage_)));
  UnsealResult result{false, opened.initialized_now, inst.key_version()};
  std::lock_guard lock(mu_);
  instance_ = std::move(opened.instance);
  return result;
}

Status SealKeeper::SetNextKey(const SecretBytes& key) {
  if (key.size() != seal::kMasterKeySize)
    return InvalidArgumentError("the new master key must be 32 bytes");
  SIRR_ASSIGN_OR_RETURN(next_key_, crypto::CloakedKey::Cloak(key.reveal()));
  return OkStatus();
}

void SealKeeper::Seal() {
  std::lock_guard transition(transition_mu_);
  std::shared_ptr<Instance> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(instance_);
    instance_.reset();
  }
  if (!old) return;
  // New requests already see "sealed"; wait for the ones holding the instance (bounded by the
  // request timeout) so that the keys are gone when Seal returns.
  while (old.use_count() > 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  old.reset();
  audit_.Seal();
}

bool SealKeeper::sealed() const {
  std::lock_guard lock(mu_);
  return instance_ == nullptr;
}

StatusOr<std::shared_ptr<Instance>> SealKeeper::Acquire() const {
  std::lock_guard lock(mu_);
  if (!instance_) return UnavailableError(std::string(kSealedMessage));
  return instance_;
}

StatusOr<SealStatus> SealKeeper::Status() const {
  SealStatus s;
  s.sealed = sealed();
  s.provider = options_.provider;
  s.validation_hash_configured = options_.validation_hash.has_value();
  SIRR_ASSIGN_OR_RETURN(auto keyring, storage_.ListKeyring());
  s.initialized = !keyring.empty();
  for (const auto& row : keyring)
    s.key_versions.push_back({row.version, HexEncode(row.key_id), row.state});
  return s;
}

}  // namespace sirr::core
