#pragma once

// Secrets: named values in a vault, optionally ephemeral (TTL and/or read limit).
//
// Values are sealed in envelope v1 under the vault key with AAD
// "sirr/v1/secret/<vault id>/<secret id>". Every operation is audited (never the value);
// an operation whose audit record cannot be written fails with Unavailable (fail-closed).
//
// Thread safety: thread-safe.

#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "base/clock.h"
#include "base/random.h"
#include "core/principal.h"
#include "core/seal_keeper.h"
#include "core/vaults.h"
#include "storage/storage.h"

namespace sirr::core {

struct SecretLimits {
  size_t max_value_bytes = 1 << 20;
  int64_t tombstone_retention_ms = 24LL * 3600 * 1000;
};

inline constexpr int64_t kMaxTtlSeconds = 10LL * 366 * 24 * 3600;  // 10 years

struct PushRequest {
  std::string vault;  // id or name
  std::string name;
  SecretBytes value;
  std::string type;
  std::string description;
  // What the value is, when the client encrypted it ("application/age"); "" for plain values.
  std::string content_type;
  std::optional<int64_t> ttl_seconds;
  std::optional<int64_t> max_reads;
  bool overwrite = false;
};

struct PulledSecret {
  storage::SecretRow meta;  // value field empty
  SecretBytes value;
};

// Checks a secret name: 1..256 of [A-Za-z0-9._/-], no "..", no leading '/'.
Status ValidateSecretName(std::string_view name);
// A content type: empty, or a MIME type "type/subtype" of at most 100 characters from
// [A-Za-z0-9!#$&^_.+-].
Status ValidateContentType(std::string_view content_type);

class Secrets {
 public:
  Secrets(storage::Storage& storage, SealKeeper& keeper, Vaults& vaults, audit::AuditLog& audit,
          const Clock& clock, Random& random, SecretLimits limits)
      : storage_(storage),
        keeper_(keeper),
        vaults_(vaults),
        audit_(audit),
        clock_(clock),
        random_(random),
        limits_(limits) {}

  const SecretLimits& limits() const { return limits_; }

  // Capabilities: Push secrets:write, Pull secrets:read, Inspect secrets:read or secrets:list,
  // List secrets:list, Delete secrets:delete; the vault must be in the principal's scope.
  StatusOr<storage::SecretRow> Push(const RequestContext& ctx, PushRequest request);
  // Counts one read. Gone (410) for burned/expired, with a message saying which. A secret
  // whose content_type is `refuse_content_type` (when given) is FailedPrecondition and nothing
  // is read: a client that cannot decrypt an age payload does not use up its reads.
  StatusOr<PulledSecret> Pull(const RequestContext& ctx, std::string_view vault,
                              std::string_view secret, std::string_view refuse_content_type = "");
  // Metadata in any state; does not count a read.
  StatusOr<storage::SecretRow> Inspect(const RequestContext& ctx, std::string_view vault,
                                       std::string_view secret);
  StatusOr<storage::SecretPage> List(const RequestContext& ctx, std::string_view vault,
                                     const storage::SecretFilter& filter);
  StatusOr<storage::SecretRow> Delete(const RequestContext& ctx, std::string_view vault,
                                      std::string_view secret);

  // One sweeper pass: destroys expired values (audited as secret.expire) and purges
  // tombstones past the retention period. Returns the number of values destroyed.
  StatusOr<int64_t> Sweep();

  // The 410 message for a gone secret.
  static std::string GoneMessage(const storage::SecretRow& row);

 private:
  audit::Event SecretEvent(const RequestContext& ctx, std::string_view action,
                           std::string_view outcome, const storage::VaultRow* vault,
                           const storage::SecretRow* secret, std::string detail = "",
                           std::string_view secret_name = "");
  Status Audit(const RequestContext& ctx, std::string_view action, std::string_view outcome,
               const storage::VaultRow* vault, const storage::SecretRow* secret,
               std::string detail = "", std::string_view secret_name = "");

  storage::Storage& storage_;
  SealKeeper& keeper_;
  Vaults& vaults_;
  audit::AuditLog& audit_;
  const Clock& clock_;
  Random& random_;
  const SecretLimits limits_;
};

}  // namespace sirr::core
