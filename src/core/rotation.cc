#include "core/rotation.h"

#include "core/audited.h"

#include "base/encoding.h"
#include "crypto/envelope.h"

namespace sirr::core {

KeyRotation::KeyRotation(storage::Storage& storage, SealKeeper& keeper, audit::AuditLog& audit,
                         const Clock& clock, Random& random, int batch_size)
    : storage_(storage),
      keeper_(keeper),
      audit_(audit),
      clock_(clock),
      random_(random),
      batch_size_(batch_size > 0 ? batch_size : 100) {}

KeyRotation::~KeyRotation() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

sirr::Status KeyRotation::Audit(const std::string& request_id, const std::string& principal,
                                std::string outcome, std::string detail) {
  audit::Event e;
  e.action = "keys.rotate";
  e.outcome = std::move(outcome);
  e.request_id = request_id;
  e.principal = principal;
  e.detail = std::move(detail);
  return audit_.Append(e);
}

StatusOr<RotationStatus> KeyRotation::Start(const RequestContext& ctx) {
  SIRR_RETURN_IF_ERROR(Require(ctx.principal, Capability::kAdmin));
  SIRR_ASSIGN_OR_RETURN(auto instance, keeper_.Acquire());
  std::unique_lock lock(mu_);
  if (running_)
    return FailedPreconditionError("a key rotation is already running (job " + status_.job_id +
                                   ")");
  SIRR_ASSIGN_OR_RETURN(auto keyring, storage_.ListKeyring());
  int from = 0;
  for (const auto& row : keyring)
    if (row.state == "retiring") from = row.version;
  if (from == 0)
    return FailedPreconditionError(
        "no key version is retiring: start sirrd with SIRR_KEY_FILE (current key) and "
        "SIRR_KEY_FILE_NEW (new key) first");
  const crypto::KeyId& active = instance->master().key_id();
  const Bytes active_id(active.begin(), active.end());
  // One node at a time (PostgreSQL: an advisory lock, released when the job ends or its node
  // dies).
  SIRR_ASSIGN_OR_RETURN(std::shared_ptr<void> job_lock, storage_.LockJob("rotation"));
  // The work: every vault whose key is not yet under the active version.
  SIRR_ASSIGN_OR_RETURN(const int64_t total, storage_.CountVaultKeys(active_id, false));
  if (worker_.joinable()) worker_.join();  // a finished job's thread
  status_ = RotationStatus{};
  status_.job_id = random_.Uuid();
  status_.state = "running";
  status_.total = total;
  status_.started_at = clock_.NowMillis();
  status_.from_version = from;
  status_.to_version = instance->key_version();
  running_ = true;
  RotationStatus started = status_;
  SIRR_RETURN_IF_ERROR(Audit(ctx.request_id, ctx.principal.id, "requested",
                             "job " + started.job_id + ": " + std::to_string(total) +
                                 " vault key(s) from version " + std::to_string(from) +
                                 " to version " + std::to_string(started.to_version) + " (" +
                                 crypto::KeyIdHex(active) + ")"));
  worker_ = std::thread(&KeyRotation::Run, this, std::move(instance), ctx.request_id,
                        ctx.principal.id, std::move(job_lock));
  return started;
}

void KeyRotation::Run(std::shared_ptr<Instance> instance, std::string request_id,
                      std::string principal, std::shared_ptr<void> job_lock) {
  const crypto::KeyId& active = instance->master().key_id();
  const Bytes active_id(active.begin(), active.end());
  std::string after, failure;
  int64_t batch_no = 0;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stop_ || keeper_.sealed()) {
        failure = "stopped (server sealed or shutting down); start it again to resume";
        break;
      }
    }
    auto page = storage_.VaultsNotWrappedBy(active_id, after, batch_size_);
    if (!page.ok()) {
      failure = page.status().message();
      break;
    }
    if (page->empty()) break;
    after = page->back().id;
    std::vector<storage::Storage::Rewrap> rewraps;
    int64_t failed = 0;
    for (const auto& vault : *page) {
      auto plain = instance->UnwrapVaultKey(vault);
      StatusOr<Bytes> wrapped = plain.ok() ? instance->WrapVaultKey(vault.id, *plain, random_)
                                           : StatusOr<Bytes>(plain.status());
      if (!wrapped.ok()) {
        ++failed;
        (void)Audit(request_id, principal, "error",
                    "vault " + vault.id + ": " + wrapped.status().message());
        continue;
      }
      rewraps.push_back({vault.id, vault.wrapped_key, std::move(wrapped).value()});
    }
    ++batch_no;
    RotationStatus before;
    {
      std::lock_guard lock(mu_);
      before = status_;
    }
    const int64_t done = before.done + static_cast<int64_t>(rewraps.size());
    const int64_t failed_total = before.failed + failed;
    // The batch's record commits with the rewrapped keys (audit before commit).
    auto changed = storage_.RewrapVaultKeys(rewraps, [&](const storage::JournalContext& jc) {
      audit::Event e;
      e.action = "keys.rotate";
      e.outcome = "progress";
      e.request_id = request_id;
      e.principal = principal;
      e.detail = "job " + before.job_id + " batch " + std::to_string(batch_no) + ": " +
                 std::to_string(jc.index) + " rewrapped; " + std::to_string(done) + "/" +
                 std::to_string(before.total) + " done, " + std::to_string(failed_total) +
                 " failed";
      return std::vector<storage::JournalEntry>{JournalEntryOf(e, clock_)};
    });
    if (!changed.ok()) {
      failure = changed.status().message();
      break;
    }
    {
      std::lock_guard lock(mu_);
      status_.done = done;
      status_.failed = failed_total;
    }
  }
  // Versions no longer wrapping anything are retired.
  std::string retired;
  if (failure.empty()) {
    auto keyring = storage_.ListKeyring();
    if (!keyring.ok()) failure = keyring.status().message();
    for (const auto& row : keyring.ok() ? *keyring : std::vector<storage::KeyringRow>()) {
      if (row.state != "retiring") continue;
      auto still = storage_.CountVaultKeys(row.key_id, true);
      if (!still.ok()) {
        failure = still.status().message();
        break;
      }
      if (*still > 0) continue;
      if (sirr::Status st =
              storage_.SetKeyState(row.version, "retired", clock_.NowMillis(),
                                   SystemJournal("keys.version_retire",
                                                 "key version " + std::to_string(row.version) +
                                                     " retired: it wraps no vault key any more",
                                                 clock_));
          !st.ok()) {
        failure = st.message();
        break;
      }
      retired += (retired.empty() ? "" : ", ") + std::to_string(row.version) + " (" +
                 HexEncode(row.key_id) + ")";
    }
  }
  RotationStatus done;
  {
    std::lock_guard lock(mu_);
    status_.finished_at = clock_.NowMillis();
    if (failure.empty() && status_.failed > 0)
      failure = std::to_string(status_.failed) + " vault key(s) could not be rewrapped";
    status_.state = failure.empty() ? "completed" : "failed";
    status_.detail = failure;
    running_ = false;
    done = status_;
  }
  (void)Audit(request_id, principal, failure.empty() ? "completed" : "failed",
              "job " + done.job_id + ": " + std::to_string(done.done) + "/" +
                  std::to_string(done.total) + " rewrapped to version " +
                  std::to_string(done.to_version) + " (" + crypto::KeyIdHex(active) + ")" +
                  (retired.empty() ? "" : "; retired version(s) " + retired) +
                  (failure.empty() ? "" : "; " + failure));
  cv_.notify_all();
}

RotationStatus KeyRotation::Status() const {
  RotationStatus s;
  {
    std::lock_guard lock(mu_);
    s = status_;
  }
  // Progress as the database has it: visible on every node, whichever runs the job.
  if (auto instance = keeper_.Acquire(); instance.ok()) {
    const crypto::KeyId& active = (*instance)->master().key_id();
    auto left = storage_.CountVaultKeys(Bytes(active.begin(), active.end()), false);
    if (left.ok()) s.remaining = *left;
  }
  return s;
}

void KeyRotation::Wait() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !running_; });
}

}  // namespace sirr::core
