#pragma once

// The tamper-evident audit log (DESIGN.md §7, format in docs/formats.md).
//
// One JSON object per line. Each line carries `seq` (1, 2, ...), `prev` (the previous line's
// mac, 64 zero hex digits for the first) and `mac` = hex HMAC-SHA256(audit key, body), where
// body is the exact line text without its trailing `,"mac":"..."` member (i.e. ending in
// `"prev":"<hex>"}`). Editing, reordering or deleting a line breaks the chain; truncating the
// tail is caught by comparing with the chain head that sirrd checkpoints into the database.
//
// Never in an event: secret values, key material, tokens, mnemonics.
// Thread safety: AuditLog is thread-safe; Append serialises writers.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "crypto/cloak.h"

namespace sirr::audit {

struct Event {
  std::string action;   // e.g. "secret.read", "auth.denied", "server.start"
  std::string outcome;  // "success", "denied", "error", ...
  std::string request_id;
  std::string principal;  // "admin", a token id, never a token
  std::string client;     // client address
  std::string vault_id;
  std::string vault_name;
  std::string secret_id;
  std::string secret_name;
  std::string key_id;
  std::string key_name;
  std::string detail;  // short, non-secret reason
};

struct ChainHead {
  int64_t seq = 0;
  Bytes mac;  // 32 bytes; all zero before the first line
};

class AuditLog {
 public:
  // A sealed log bound to `path`: nothing is opened until the first Unseal().
  AuditLog(std::string path, const Clock& clock);
  // Convenience for tools and tests: constructs and unseals.
  static StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path, SecretBytes mac_key,
                                                  std::string key_id_hex, const Clock& clock);
  ~AuditLog();

  // Gives the log its MAC key (held cloaked). The first call opens `path` for appending
  // (creating it with mode 0600) and continues the chain from its last line: DataLoss when the
  // last line is damaged or the chain ends before `recorded_seq` (the head checkpointed in the
  // database), in which case nothing is written. Then the events queued while sealed are
  // written, with the time they happened.
  Status Unseal(SecretBytes mac_key, std::string key_id_hex, int64_t recorded_seq = 0);
  // Wipes the key. Until the next Unseal, events are queued in memory (at most kMaxPending;
  // beyond that they are counted, and the count is logged as an "audit.dropped" event).
  void Seal();
  bool sealed() const;

  // Appends one line (or queues it while sealed). Unavailable when the line cannot be written
  // within a bounded wait; the caller must then fail the request (fail-closed).
  Status Append(const Event& event);

  ChainHead Head() const;
  // Flushes written lines to stable storage (fdatasync). OK when nothing is open yet.
  Status Sync();
  // Events waiting for the key.
  size_t pending() const;

  static constexpr size_t kMaxPending = 10000;

 private:
  Status OpenFile();
  Status WriteLocked(std::string_view fields, int64_t time_ms);  // requires mu_

  const std::string path_;
  const Clock& clock_;

  mutable std::timed_mutex mu_;
  int fd_ = -1;             // guarded by mu_ (set once)
  crypto::CloakedKey key_;  // guarded by mu_; empty when sealed
  std::string key_id_hex_;  // guarded by mu_
  ChainHead head_;          // guarded by mu_
  // Serialised event members (EventFields) and their time. guarded by mu_
  std::vector<std::pair<std::string, int64_t>> pending_;
  int64_t dropped_ = 0;  // guarded by mu_
};

struct VerifyResult {
  bool ok = false;
  int64_t lines = 0;
  int64_t bad_line = 0;  // 1-based line number of the first problem, when !ok
  std::string problem;
  ChainHead head;  // of the verified prefix
};

// Verifies the whole chain of `path` with `mac_key`. When `expected_head` is given (the head
// checkpointed in the database), a log that ends before it, or disagrees with it, fails.
StatusOr<VerifyResult> Verify(const std::string& path, const SecretBytes& mac_key,
                              const std::optional<ChainHead>& expected_head);
// The same with several audit keys (before and after a master key rotation): each line must
// carry the MAC of one of them.
StatusOr<VerifyResult> Verify(const std::string& path, std::span<const SecretBytes* const> mac_keys,
                              const std::optional<ChainHead>& expected_head);

// The event's JSON members, from "request_id" to "detail", without braces.
std::string EventFields(const Event& event);
// One signed line (without the newline): {"seq":…,"time":…,<fields>,"key_id":…,"prev":…,
// "mac":…}, the mac being HMAC-SHA256 over the line without its mac member.
std::string SignFields(const SecretBytes& mac_key, int64_t seq, const Bytes& prev,
                       const std::string& time, const std::string& key_id_hex,
                       std::string_view fields);
// SignFields(…, EventFields(event)); exposed for tests.
std::string SignLine(const SecretBytes& mac_key, int64_t seq, const Bytes& prev,
                     const std::string& time, const std::string& key_id_hex, const Event& event);

}  // namespace sirr::audit
