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

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/audit_file.h"
#include "base/clock.h"
#include "base/metrics.h"
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

// A committed state change's record from the storage's audit journal (docs/formats.md): it is
// already durable in the database, committed with the change; the log writes it to the file.
struct Committed {
  int64_t journal_id = 0;
  int64_t time_ms = 0;
  std::string fields;  // EventFields(event)
};
// Reads the journal rows with id > `after` in id order (an empty vector: none left).
using JournalReader = std::function<StatusOr<std::vector<Committed>>(int64_t after)>;

// A destination besides the file for the same chained records (audit/audit_sink.h: stdout,
// syslog). Each sink gets every line the file gets, in order, after the file has it. A
// required sink that cannot take a line makes the log refuse new writes (fail closed: 503)
// until it takes the lines it missed; an optional one loses the line, counted in
// sirr_audit_sink_failures_total and logged.
// Thread safety: Deliver is called under the log's lock (one caller at a time).
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  virtual std::string name() const = 0;  // "stdout", "syslog"
  virtual bool required() const = 0;
  // Delivers one record line (without its newline); false when it could not.
  virtual bool Deliver(std::string_view line, int64_t time_ms) = 0;
};

struct AuditOptions {
  AuditFileOps* ops = &AuditFileOps::Posix();  // the seam for fault injection
  // A log that is not a regular file (/dev/null, a pipe, a terminal) is refused unless this is
  // set: the chain could not be checked, and /dev/null silently discards the trail.
  bool allow_special_file = false;
  // Rotation (docs/operator.md "Audit operations"): the file is renamed to
  // "<path>.<UTC time>" (e.g. audit.log.20261130T101500.123Z) and a new one continues the
  // chain, when it holds rotate_bytes or its first record is rotate_seconds old (0: never);
  // checked by MaybeRotate(), once a second. keep > 0: at most that many rotated files stay;
  // older ones are removed after an "audit.pruned" record saying which records went.
  int64_t rotate_bytes = 0;
  int64_t rotate_seconds = 0;
  int keep = 0;
  // Where every written record also goes (stdout, syslog; audit/audit_sink.h).
  std::vector<std::shared_ptr<AuditSink>> sinks;
  // Several sirrd nodes on one database (docs/ha.md): this node's id, written in every record
  // as "node" (covered by the MAC); empty: no member.
  std::string node;
};

// What the log measures (registered by the composition root under sirr_audit_*).
struct AuditMetrics {
  metrics::Counter records;   // lines written
  metrics::Counter bytes;     // bytes written
  metrics::Counter failures;  // writes that failed (the request failed closed)
  metrics::Histogram write_seconds{metrics::Histogram::LatencyBounds()};
  metrics::Family<metrics::Counter> sink_records{{"sink"}};
  metrics::Family<metrics::Counter> sink_failures{{"sink"}};
  metrics::Counter rotations;
};

class AuditLog {
 public:
  // A sealed log bound to `path`: nothing is opened until the first Unseal().
  AuditLog(std::string path, const Clock& clock, AuditOptions options = {});
  // Convenience for tools and tests: constructs and unseals.
  static StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path, SecretBytes mac_key,
                                                  std::string key_id_hex, const Clock& clock,
                                                  AuditOptions options = {});
  ~AuditLog();

  // Gives the log its MAC key (held cloaked). The first call opens `path` for appending
  // (creating it with mode 0600) and continues the chain from its last record; a torn last
  // record (crash or disk full in the middle of a write) is terminated and skipped. DataLoss
  // when the last line is damaged otherwise, or the chain ends before `recorded_seq` (the head
  // checkpointed in the database); nothing is written then. Then the committed records the
  // file lacks (`journal`, after a crash) and the events queued while sealed are written.
  Status Unseal(SecretBytes mac_key, std::string key_id_hex, int64_t recorded_seq = 0,
                const JournalReader& journal = {});
  // Wipes the key. Until the next Unseal, events are queued in memory (at most kMaxPending;
  // beyond that they are counted, and the count is logged as an "audit.dropped" event).
  void Seal();
  bool sealed() const;

  // Appends the record of something that changed nothing stored (a read of an unlimited
  // secret, a listing, a refusal), or queues it while sealed. Unavailable when the line cannot
  // be written within a bounded wait, or records committed earlier are still unwritten: the
  // caller must then fail the request (fail-closed). A failed write leaves no partial line.
  Status Append(const Event& event);
  // Records of committed state changes (already durable in the storage journal), in journal
  // order. Written now when possible; otherwise kept, and written before anything else once
  // the file takes them again (Ready, Append, CheckFile). Ignored while sealed: Unseal reads
  // them back from the journal.
  void AppendCommitted(std::vector<Committed> records);
  // OK when the log can take records now: unsealed with no committed record left unwritten
  // (trying to write them first), or sealed. Writes that change state wait for this.
  Status Ready();

  // The highest journal id whose record is in the file (written, not necessarily synced).
  int64_t journal_written() const;
  // Notices a log file that was removed or replaced (renamed, deleted, another file put in its
  // place) since it was opened. Then the old descriptor is closed, a replacement file is moved
  // aside to "<path>.replaced-<ms>", a new file is created at `path`, and its first record
  // ("audit.reopened") continues the chain from the last record written. Returns a one-line
  // description for the operator when that happened, "" when the file is in place.
  StatusOr<std::string> CheckFile();
  // Whether the log file (or a rotated file beside it) holds anything (checked before an
  // empty database is initialised: an audit log means earlier data).
  bool HasRecords() const;

  // Rotates when the file is over SIRR_AUDIT_ROTATE_BYTES or older than
  // SIRR_AUDIT_ROTATE_SECONDS (see AuditOptions); "" when not due (or sealed), else a line
  // for the operator.
  StatusOr<std::string> MaybeRotate();
  // Rotates now: renames the file to "<path>.<UTC time>", opens a new one whose first record
  // ("audit.rotated") continues the chain and names the previous file, then applies
  // AuditOptions::keep ("audit.pruned" record first, then the files are removed).
  StatusOr<std::string> Rotate(std::string_view reason);
  // SIGHUP (an external logrotate in `create` mode renamed the file): the same as CheckFile,
  // at once: a renamed or removed file is closed and a new one at the path continues the
  // chain ("audit.reopened").
  StatusOr<std::string> Reopen() { return CheckFile(); }
  // Rotated files beside the log named by sirrd ("<path>.<UTC time>"), oldest first.
  std::vector<std::string> RotatedFiles() const;

  ChainHead Head() const;
  // Flushes written lines to stable storage (fdatasync). OK when nothing is open yet.
  Status Sync();
  // Events waiting for the key.
  size_t pending() const;

  // Starts a new log at `path` (which must not exist or be empty) whose first record,
  // "audit.recovered" with `detail`, continues the chain after `from` (the head recorded in
  // the database): the documented way back after the log was lost (sirrd audit recover).
  static Status Recover(const std::string& path, SecretBytes mac_key, std::string key_id_hex,
                        const ChainHead& from, std::string detail, const Clock& clock);

  static constexpr size_t kMaxPending = 10000;

  const AuditMetrics& metrics() const { return metrics_; }

 private:
  // Opens `path_`, reads the chain head and journal id from its last record (repairing a torn
  // tail). requires mu_
  Status OpenFile();
  // Writes one record; on failure nothing of it stays in the file. requires mu_
  Status WriteLocked(std::string_view fields, int64_t time_ms, int64_t journal_id = 0);
  // Writes the committed records not yet in the file. requires mu_
  Status FlushBacklogLocked();
  Status CheckFileLocked(std::string* what);                        // requires mu_
  Status RotateLocked(std::string_view reason, std::string* what);  // requires mu_
  // Writes from now on go to the new, empty file `fd` (the old one is synced and closed).
  // requires mu_
  void AdoptFileLocked(int fd);
  // Sends a written line to the sinks. Unavailable when a required sink cannot take it (and
  // the lines it missed before). requires mu_
  Status SinkLocked(std::string_view record, int64_t time_ms);
  // Resends what required sinks missed; Unavailable while one still cannot take it.
  Status RetrySinksLocked();

  const std::string path_;
  const Clock& clock_;
  const AuditOptions options_;
  AuditFileOps& ops_;

  mutable std::timed_mutex mu_;
  int fd_ = -1;             // guarded by mu_
  FileId file_id_;          // of fd_; guarded by mu_
  off_t size_ = 0;          // bytes in the file; guarded by mu_
  bool torn_ = false;       // a partial line could not be removed: start the next on a new line
  crypto::CloakedKey key_;  // guarded by mu_; empty when sealed
  std::string key_id_hex_;  // guarded by mu_
  ChainHead head_;          // guarded by mu_
  int64_t journal_written_ = 0;      // guarded by mu_
  std::deque<Committed> backlog_;    // committed, not yet written; guarded by mu_
  std::atomic<bool> behind_{false};  // backlog_ is not empty (written under mu_)
  // Serialised event members (EventFields) and their time. guarded by mu_
  std::vector<std::pair<std::string, int64_t>> pending_;
  int64_t dropped_ = 0;  // guarded by mu_
  // The current file's first record (sequence, time in ms); 0 before it has one. guarded by mu_
  int64_t file_first_seq_ = 0;
  int64_t file_started_ms_ = 0;
  // Set by OpenFile when the file was empty and a rotated file beside it ends the chain (a
  // rotation interrupted, or an external logrotate while stopped): Unseal first writes the
  // continuation record naming it. guarded by mu_
  std::string continues_file_;
  struct SinkState {
    std::shared_ptr<AuditSink> sink;
    std::deque<std::pair<std::string, int64_t>> missed;  // required sinks: lines to resend
  };
  std::vector<SinkState> sinks_;           // guarded by mu_
  std::atomic<bool> sinks_behind_{false};  // a required sink missed lines (written under mu_)
  AuditMetrics metrics_;
};

struct VerifyResult {
  bool ok = false;
  int64_t lines = 0;
  int64_t bad_line = 0;  // 1-based line number of the first problem, when !ok
  std::string problem;
  ChainHead head;  // of the verified prefix
  // Torn records: partial lines left by a crash or a full disk in the middle of a write. Not
  // tampering: the record after a torn one continues the chain from the record before it (or
  // the torn one is the unterminated last line). Line numbers, 1-based.
  std::vector<int64_t> torn_lines;
  // > 0 when the file continues a chain from an earlier file (its first record is an
  // "audit.reopened", "audit.rotated" or "audit.recovered" record): the sequence number it
  // continues after.
  int64_t continues_after = 0;
  int64_t first_seq = 0;  // of the first whole record (0: none)
  Bytes first_prev;       // its prev
  // The highest "pruned_through" of the file's audit.pruned records: records up to it were
  // removed under the retention policy (0: none).
  int64_t pruned_through = 0;
};

// One file of a set, as VerifySet saw it.
struct FileReport {
  std::string path;
  VerifyResult result;
};
struct SetResult {
  bool ok = false;
  std::vector<FileReport> files;      // in chain order
  std::vector<std::string> problems;  // gaps, overlaps, a missing beginning, a bad file
  ChainHead head;                     // the end of the whole chain
  int64_t pruned_through = 0;
};
// Verifies several files as one chain (a file, its rotated predecessors, what an external
// logrotate left): each file on its own, then in order of their first records, each must
// continue exactly where the one before ends. A set that starts after sequence 1 verifies only
// when an audit.pruned record in it covers the missing beginning (or allow_missing_start, for
// files an external rotation deleted without a record). `expected_head` is checked against
// the file that holds it.
StatusOr<SetResult> VerifySet(const std::vector<std::string>& paths,
                              std::span<const SecretBytes* const> mac_keys,
                              const std::optional<ChainHead>& expected_head,
                              bool allow_missing_start = false);
// The audit files in a directory: every regular file whose name starts with "audit" and holds
// ".log" (audit.log, audit.log.<time>, audit.log.1), except "*.replaced-*" (foreign files
// sirrd moved aside).
std::vector<std::string> AuditFilesIn(const std::string& dir);
// The sequence number of a file's last whole record, read from its tail (0: none).
int64_t LastSequence(const std::string& path);

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
// One signed line (without the newline): {"seq":…,"time":…,<fields>[,"journal":N][,"node":…],
// "key_id":…,"prev":…,"mac":…}, the mac being HMAC-SHA256 over the line without its mac member.
// `journal` (when > 0) is the highest storage journal id whose record is in the file up to and
// including this line; `node` (when not empty) the sirrd node that wrote it.
std::string SignFields(const SecretBytes& mac_key, int64_t seq, const Bytes& prev,
                       const std::string& time, const std::string& key_id_hex,
                       std::string_view fields, int64_t journal = 0, std::string_view node = {});
// SignFields(…, EventFields(event)); exposed for tests.
std::string SignLine(const SecretBytes& mac_key, int64_t seq, const Bytes& prev,
                     const std::string& time, const std::string& key_id_hex, const Event& event);

}  // namespace sirr::audit
