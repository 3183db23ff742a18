#pragma once

// KeyRotation: the background job that moves every vault master key from the retiring master
// key version to the active one (dual-key mode, docs/sealing.md). Only vault master keys are
// wrapped by the master key, so the work grows with the number of vaults, not secrets.
//
// Each batch (`batch_size` vaults) unwraps with the key named in each envelope, wraps with the
// active key, and writes the batch in one transaction that replaces a wrapped key only if it is
// unchanged (a vault shredded meanwhile stays shredded). Crash-safe by construction: a record
// is always wrapped by one loaded key; a killed job is resumed by starting it again (it selects
// whatever is not yet under the active key). When nothing is left under a retiring version, it
// becomes `retired`. Audit: keys.rotate requested / batch / completed or failed, with key ids.
//
// Thread safety: thread-safe; one job at a time (Start while running: FailedPrecondition).

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/random.h"
#include "core/principal.h"
#include "core/seal_keeper.h"
#include "storage/storage.h"

namespace sirr::core {

struct RotationStatus {
  std::string job_id;
  std::string state = "idle";  // idle, running, completed, failed
  int64_t total = 0, done = 0, failed = 0;
  int64_t started_at = 0, finished_at = 0;  // ms; 0 when not yet
  std::string detail;                       // why it failed
  int from_version = 0, to_version = 0;
  // Vault keys not yet under this node's active master key, counted in the database: the same
  // on every node, whichever node runs the job (-1: unknown, e.g. sealed).
  int64_t remaining = -1;
};

class KeyRotation {
 public:
  KeyRotation(storage::Storage& storage, SealKeeper& keeper, audit::AuditLog& audit,
              const Clock& clock, Random& random, int batch_size);
  ~KeyRotation();  // stops a running job between batches

  // Admin only (PermissionDenied otherwise). FailedPrecondition when a job runs or when no
  // retiring key version exists (nothing to rotate: start sirrd with SIRR_KEY_FILE_NEW).
  // Several nodes on one database: the job takes the storage's "rotation" job lock, so it runs
  // on one node at a time (FailedPrecondition on the others while it runs).
  StatusOr<RotationStatus> Start(const RequestContext& ctx);
  RotationStatus Status() const;
  // Blocks until no job runs (tests, shutdown).
  void Wait();

 private:
  void Run(std::shared_ptr<Instance> instance, std::string request_id, std::string principal,
           std::shared_ptr<void> job_lock);
  sirr::Status Audit(const std::string& request_id, const std::string& principal,
                     std::string outcome, std::string detail);

  storage::Storage& storage_;
  SealKeeper& keeper_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  Random& random_;
  const int batch_size_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  RotationStatus status_;  // guarded by mu_
  bool running_ = false;   // guarded by mu_
  bool stop_ = false;      // guarded by mu_
  std::thread worker_;
};

}  // namespace sirr::core
