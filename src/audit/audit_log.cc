#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "base/encoding.h"
#include "crypto/crypto.h"

namespace sirr::audit {
namespace {

constexpr std::string_view kMacPrefix = ",\"mac\":\"";
constexpr size_t kMacSuffixSize = kMacPrefix.size() + 64 + 2;  // ,"mac":"<64>"}
constexpr auto kAppendWait = std::chrono::seconds(2);

std::string MacHex(const SecretBytes& key, std::string_view body) {
  return HexEncode(crypto::HmacSha256(key, AsBytes(body)));
}

// Splits a line into its body (with the mac member removed) and the mac hex.
bool SplitLine(std::string_view line, std::string* body, std::string_view* mac) {
  if (line.size() < kMacSuffixSize + 2 || line.back() != '}') return false;
  std::string_view suffix = line.substr(line.size() - kMacSuffixSize);
  if (!suffix.starts_with(kMacPrefix) || !suffix.ends_with("\"}")) return false;
  *mac = suffix.substr(kMacPrefix.size(), 64);
  body->assign(line.substr(0, line.size() - kMacSuffixSize));
  body->push_back('}');
  return true;
}

}  // namespace

namespace {

void AppendMember(std::string& out, std::string_view name, std::string_view value) {
  if (out.back() != '{') out.push_back(',');
  out.push_back('"');
  out.append(name);
  out.append("\":");
  AppendJsonString(out, value);
}

}  // namespace

std::string EventFields(const Event& e) {
  std::string out = "{";
  AppendMember(out, "request_id", e.request_id);
  AppendMember(out, "principal", e.principal);
  AppendMember(out, "client", e.client);
  AppendMember(out, "action", e.action);
  out.append(",\"target\":{");
  const std::pair<std::string_view, const std::string*> target[] = {
      {"vault_id", &e.vault_id},  {"vault", &e.vault_name}, {"secret_id", &e.secret_id},
      {"secret", &e.secret_name}, {"key_id", &e.key_id},    {"key", &e.key_name}};
  for (const auto& [name, value] : target)
    if (!value->empty()) AppendMember(out, name, *value);
  out.push_back('}');
  AppendMember(out, "outcome", e.outcome);
  if (!e.detail.empty()) AppendMember(out, "detail", e.detail);
  out.erase(0, 1);  // the members only, without the opening brace
  return out;
}

std::string SignFields(const SecretBytes& mac_key, int64_t seq, const Bytes& prev,
                       const std::string& time, const std::string& key_id_hex,
                       std::string_view fields, int64_t journal) {
  std::string body;
  body.reserve(fields.size() + 256);
  body.append("{\"seq\":").append(std::to_string(seq));
  AppendMember(body, "time", time);
  body.push_back(',');
  body.append(fields);
  if (journal > 0) body.append(",\"journal\":").append(std::to_string(journal));
  AppendMember(body, "key_id", key_id_hex);
  AppendMember(body, "prev", HexEncode(prev));
  body.push_back('}');
  std::string mac = MacHex(mac_key, body);
  body.pop_back();  // '}'
  body.append(kMacPrefix).append(mac).append("\"}");
  return body;
}

std::string SignLine(const SecretBytes& mac_key, int64_t seq, const Bytes& prev,
                     const std::string& time, const std::string& key_id_hex, const Event& e) {
  return SignFields(mac_key, seq, prev, time, key_id_hex, EventFields(e));
}

namespace {

// A record's parts that the writer and the verifier need, when `line` is a whole record.
struct ParsedRecord {
  int64_t seq = 0;
  int64_t journal = 0;
  std::string action;
  std::string prev_hex;
  Bytes mac;
  std::string body;  // what the mac covers
};

std::optional<ParsedRecord> ParseRecord(std::string_view line) {
  ParsedRecord r;
  std::string_view mac_hex;
  if (!SplitLine(line, &r.body, &mac_hex)) return std::nullopt;
  auto mac = HexDecode(mac_hex);
  if (!mac.ok() || mac->size() != 32) return std::nullopt;
  r.mac = std::move(mac).value();
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer() ||
      !j.contains("prev") || !j["prev"].is_string())
    return std::nullopt;
  r.seq = j["seq"].get<int64_t>();
  r.prev_hex = j["prev"].get<std::string>();
  if (j.contains("journal") && j["journal"].is_number_integer())
    r.journal = j["journal"].get<int64_t>();
  if (j.contains("action") && j["action"].is_string()) r.action = j["action"].get<std::string>();
  return r;
}

// The first record of a file that continues a chain from an earlier file.
bool IsContinuation(std::string_view action) {
  return action == "audit.reopened" || action == "audit.recovered";
}

constexpr std::string_view kNotWritable = "audit log is not writable";

}  // namespace

AuditLog::AuditLog(std::string path, const Clock& clock, AuditOptions options)
    : path_(std::move(path)),
      clock_(clock),
      options_(options),
      ops_(*options.ops),
      head_{0, Bytes(32, 0)} {}

AuditLog::~AuditLog() {
  if (fd_ >= 0) {
    ops_.Sync(fd_);
    ops_.Close(fd_);
  }
}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, SecretBytes mac_key,
                                                   std::string key_id_hex, const Clock& clock,
                                                   AuditOptions options) {
  auto log = std::make_unique<AuditLog>(path, clock, options);
  SIRR_RETURN_IF_ERROR(log->Unseal(std::move(mac_key), std::move(key_id_hex)));
  return log;
}

bool AuditLog::HasRecords() const {
  std::error_code ec;
  auto size = std::filesystem::file_size(path_, ec);
  return !ec && size > 0;
}

Status AuditLog::OpenFile() {
  int fd = ops_.OpenAppend(path_, false);
  if (fd < 0)
    return UnavailableError("cannot open audit log " + path_ + ": " + std::strerror(errno));
  AuditFileOps::Info info;
  if (ops_.Stat(fd, &info) != 0) {
    ops_.Close(fd);
    return UnavailableError("cannot stat audit log " + path_ + ": " + std::strerror(errno));
  }
  if (!info.regular && !options_.allow_special_file) {
    ops_.Close(fd);
    return FailedPreconditionError(
        "audit log " + path_ +
        " is not a regular file (a device or pipe cannot hold a verifiable chain); choose a "
        "file, or set SIRR_AUDIT_ALLOW_SPECIAL_FILE=true to accept it");
  }
  ChainHead head{0, Bytes(32, 0)};
  int64_t journal = 0;
  bool terminate = false;
  if (info.regular && info.size > 0) {
    // The last record, from the file's tail, without reading a large file into memory.
    std::ifstream in(path_, std::ios::binary);
    std::streamoff start = std::max<std::streamoff>(0, info.size - 65536);
    in.seekg(start);
    std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // An unterminated last line is a record cut by a crash or a full disk (a whole record
    // whose newline was lost counts; a partial one is torn): end it so that the next record
    // starts on a line of its own, and continue from the last whole record.
    terminate = !tail.empty() && tail.back() != '\n';
    std::vector<std::string_view> lines;
    std::string_view rest = tail;
    while (!rest.empty()) {
      size_t nl = rest.find('\n');
      lines.push_back(rest.substr(0, nl));
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
    }
    if (start > 0 && !lines.empty()) lines.erase(lines.begin());  // may start mid-line
    std::optional<ParsedRecord> last;
    for (size_t i = lines.size(); i-- > 0 && !last;) {
      if (lines[i].empty()) continue;
      last = ParseRecord(lines[i]);
      const bool unterminated_last = terminate && i + 1 == lines.size();
      if (!last && !unterminated_last) {
        ops_.Close(fd);
        return DataLossError("audit log " + path_ +
                             " ends with a damaged line; run 'sirrd audit verify'");
      }
    }
    if (!last && start > 0) {
      ops_.Close(fd);
      return DataLossError("audit log " + path_ + " has an overlong last line");
    }
    if (last) {
      head = ChainHead{last->seq, last->mac};
      journal = last->journal;
    }
  }
  fd_ = fd;
  file_id_ = info.id;
  size_ = info.size;
  torn_ = terminate;
  head_ = std::move(head);
  journal_written_ = std::max(journal_written_, journal);
  return OkStatus();
}

Status AuditLog::Unseal(SecretBytes mac_key, std::string key_id_hex, int64_t recorded_seq,
                        const JournalReader& journal) {
  std::unique_lock lock(mu_);
  if (fd_ < 0) SIRR_RETURN_IF_ERROR(OpenFile());
  if (head_.seq < recorded_seq)
    return DataLossError(
        "audit log " + path_ + " ends at sequence " + std::to_string(head_.seq) +
        " but the database recorded " + std::to_string(recorded_seq) +
        "; it was truncated, replaced or lost (check it with 'sirrd audit verify'; if it is "
        "lost, 'sirrd audit recover --reason TEXT' starts a new log that continues the chain)");
  SIRR_ASSIGN_OR_RETURN(key_, crypto::CloakedKey::Cloak(mac_key.reveal()));
  key_id_hex_ = std::move(key_id_hex);
  // Records committed but not yet in the file (the process died between the commit and the
  // write, or the file could not take them): from the journal, in commit order.
  backlog_.clear();
  if (journal) {
    int64_t after = journal_written_;
    while (true) {
      SIRR_ASSIGN_OR_RETURN(std::vector<Committed> rows, journal(after));
      if (rows.empty()) break;
      for (Committed& c : rows) {
        after = c.journal_id;
        backlog_.push_back(std::move(c));
      }
    }
  }
  SIRR_RETURN_IF_ERROR(FlushBacklogLocked());
  auto pending = std::move(pending_);
  pending_.clear();
  for (const auto& [fields, time] : pending) SIRR_RETURN_IF_ERROR(WriteLocked(fields, time));
  if (dropped_ > 0) {
    Event e;
    e.action = "audit.dropped";
    e.outcome = "error";
    e.detail = std::to_string(dropped_) + " event(s) while sealed exceeded the queue of " +
               std::to_string(kMaxPending) + " and were not recorded";
    dropped_ = 0;
    SIRR_RETURN_IF_ERROR(WriteLocked(EventFields(e), clock_.NowMillis()));
  }
  return OkStatus();
}

void AuditLog::Seal() {
  std::unique_lock lock(mu_);
  if (fd_ >= 0) ops_.Sync(fd_);
  key_.Wipe();
  backlog_.clear();  // still in the storage journal: Unseal reads them back
  behind_.store(false, std::memory_order_release);
}

bool AuditLog::sealed() const {
  std::unique_lock lock(mu_);
  return key_.empty();
}

size_t AuditLog::pending() const {
  std::unique_lock lock(mu_);
  return pending_.size();
}

int64_t AuditLog::journal_written() const {
  std::unique_lock lock(mu_);
  return journal_written_;
}

Status AuditLog::Append(const Event& event) {
  // The event's members are serialised before taking the lock; only the chained part
  // (sequence, time, prev, mac) and the write happen under it.
  std::string fields = EventFields(event);
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(kAppendWait)) return UnavailableError(std::string(kNotWritable));
  if (key_.empty()) {
    if (pending_.size() < kMaxPending)
      pending_.emplace_back(std::move(fields), clock_.NowMillis());
    else
      ++dropped_;
    return OkStatus();
  }
  SIRR_RETURN_IF_ERROR(FlushBacklogLocked());
  return WriteLocked(fields, clock_.NowMillis());
}

void AuditLog::AppendCommitted(std::vector<Committed> records) {
  std::unique_lock lock(mu_);
  if (key_.empty()) return;  // sealed: they stay in the journal until Unseal
  for (Committed& c : records) backlog_.push_back(std::move(c));
  (void)FlushBacklogLocked();  // what cannot be written now waits in the backlog
}

Status AuditLog::Ready() {
  // The common case takes no lock: nothing committed is waiting for the file.
  if (!behind_.load(std::memory_order_acquire)) return OkStatus();
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(kAppendWait)) return UnavailableError(std::string(kNotWritable));
  if (key_.empty()) return OkStatus();
  return FlushBacklogLocked();
}

Status AuditLog::FlushBacklogLocked() {
  while (!backlog_.empty()) {
    const Committed& c = backlog_.front();
    if (Status st = WriteLocked(c.fields, c.time_ms, c.journal_id); !st.ok()) {
      behind_.store(true, std::memory_order_release);
      return st;
    }
    backlog_.pop_front();
  }
  behind_.store(false, std::memory_order_release);
  return OkStatus();
}

Status AuditLog::WriteLocked(std::string_view fields, int64_t time_ms, int64_t journal_id) {
  if (fd_ < 0) {
    metrics_.failures.Inc();
    return UnavailableError(std::string(kNotWritable));
  }
  const auto start = std::chrono::steady_clock::now();
  const int64_t journal = std::max(journal_written_, journal_id);
  std::string line = SignFields(key_.Decloak(), head_.seq + 1, head_.mac, FormatRfc3339(time_ms),
                                key_id_hex_, fields, journal);
  auto mac_bytes = HexDecode(std::string_view(line).substr(line.size() - 66, 64));
  if (torn_) line.insert(line.begin(), '\n');  // end the partial line left by a failure
  line.push_back('\n');
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ops_.Write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Disk full or an I/O error: take back what part of the record did reach the file, so
      // that the file still ends with a whole record. If that fails too, the next record
      // starts on a new line and verification reports this one as torn.
      if (written > 0 && ops_.Truncate(fd_, size_) != 0) torn_ = true;
      metrics_.failures.Inc();
      return UnavailableError(std::string(kNotWritable));
    }
    written += static_cast<size_t>(n);
  }
  size_ += static_cast<off_t>(line.size());
  torn_ = false;
  head_.seq += 1;
  head_.mac = std::move(mac_bytes).value();
  journal_written_ = journal;
  metrics_.records.Inc();
  metrics_.bytes.Inc(line.size());
  metrics_.write_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return OkStatus();
}

ChainHead AuditLog::Head() const {
  std::lock_guard lock(mu_);
  return head_;
}

Status AuditLog::Sync() {
  int fd;
  {
    std::lock_guard lock(mu_);
    fd = fd_;
  }
  if (fd >= 0 && ops_.Sync(fd) != 0) return UnavailableError("audit log sync failed");
  return OkStatus();
}

StatusOr<std::string> AuditLog::CheckFile() {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(kAppendWait)) return UnavailableError(std::string(kNotWritable));
  std::string what;
  SIRR_RETURN_IF_ERROR(CheckFileLocked(&what));
  if (!key_.empty()) (void)FlushBacklogLocked();
  return what;
}

Status AuditLog::CheckFileLocked(std::string* what) {
  if (fd_ < 0) return OkStatus();
  AuditFileOps::Info info;
  if (ops_.Stat(fd_, &info) != 0 || !info.regular) return OkStatus();
  FileId at_path;
  const bool exists = ops_.StatPath(path_, &at_path) == 0;
  if (info.linked && exists && at_path == file_id_) return OkStatus();
  const std::string ms = std::to_string(clock_.NowMillis());
  std::string aside;
  if (exists) {
    // Another file was put in its place: keep it for the investigation, never append to it.
    aside = path_ + ".replaced-" + ms;
    if (ops_.Rename(path_, aside) != 0)
      return UnavailableError("audit log " + path_ +
                              " was replaced and cannot be moved aside: " + std::strerror(errno));
  }
  int fd = ops_.OpenAppend(path_, true);
  if (fd < 0)
    return UnavailableError("audit log " + path_ + " was " + (exists ? "replaced" : "removed") +
                            " and cannot be recreated: " + std::strerror(errno));
  ops_.Sync(fd_);
  ops_.Close(fd_);
  fd_ = fd;
  AuditFileOps::Info fresh;
  if (ops_.Stat(fd_, &fresh) == 0) file_id_ = fresh.id;
  size_ = 0;
  torn_ = false;
  *what = "audit log " + path_ + " was " +
          (exists ? "replaced while running (the other file was moved to " + aside + ")"
                  : "removed while running") +
          "; a new file continues the chain after sequence " + std::to_string(head_.seq);
  Event e;
  e.action = "audit.reopened";
  e.outcome = "error";
  e.detail = *what;
  std::string fields = EventFields(e);
  if (key_.empty()) {
    // Sealed: the record waits (first in line) for the key, like every event while sealed.
    pending_.insert(pending_.begin(), {std::move(fields), clock_.NowMillis()});
    return OkStatus();
  }
  return WriteLocked(fields, clock_.NowMillis());
}

Status AuditLog::Recover(const std::string& path, SecretBytes mac_key, std::string key_id_hex,
                         const ChainHead& from, std::string detail, const Clock& clock) {
  AuditLog log(path, clock);
  if (log.HasRecords())
    return FailedPreconditionError("audit log " + path +
                                   " exists and is not empty: move it away first (recover "
                                   "starts a new log only where the old one is lost)");
  std::unique_lock lock(log.mu_);
  SIRR_RETURN_IF_ERROR(log.OpenFile());
  SIRR_ASSIGN_OR_RETURN(log.key_, crypto::CloakedKey::Cloak(mac_key.reveal()));
  log.key_id_hex_ = std::move(key_id_hex);
  log.head_ = from;
  Event e;
  e.action = "audit.recovered";
  e.outcome = "success";
  e.principal = "operator";
  e.detail = "the audit log after sequence " + std::to_string(from.seq) +
             " was lost; this file continues the chain. Reason given: " + detail;
  SIRR_RETURN_IF_ERROR(log.WriteLocked(EventFields(e), clock.NowMillis()));
  if (log.ops_.Sync(log.fd_) != 0) return UnavailableError("audit log sync failed");
  return OkStatus();
}

StatusOr<VerifyResult> Verify(const std::string& path, const SecretBytes& mac_key,
                              const std::optional<ChainHead>& expected_head) {
  const SecretBytes* keys[] = {&mac_key};
  return Verify(path, keys, expected_head);
}

StatusOr<VerifyResult> Verify(const std::string& path, std::span<const SecretBytes* const> mac_keys,
                              const std::optional<ChainHead>& expected_head) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open audit log " + path);
  VerifyResult r;
  r.head = ChainHead{0, Bytes(32, 0)};
  auto fail = [&](std::string problem) {
    r.ok = false;
    r.bad_line = r.lines;
    r.problem = std::move(problem);
    return r;
  };
  bool saw_expected = !expected_head || expected_head->seq == 0;
  int64_t torn_candidate = 0;  // line number of an unparseable line not yet explained
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    ++r.lines;
    const bool terminated = !in.eof();
    auto rec = ParseRecord(line);
    bool matched = false;
    if (rec)
      for (const SecretBytes* key : mac_keys)
        matched =
            matched || ConstantTimeEquals(crypto::HmacSha256(*key, AsBytes(rec->body)), rec->mac);
    if (!rec) {
      // Not a whole record: torn (a write cut short) if the chain continues after it from the
      // record before it, or if it is the unterminated end of the file; else damage.
      if (line.empty() && terminated) {
        if (torn_candidate == 0) return fail("empty line");
        continue;
      }
      if (torn_candidate != 0) {
        r.lines = torn_candidate;
        return fail("line is damaged or has no mac");
      }
      torn_candidate = r.lines;
      if (!terminated) r.torn_lines.push_back(torn_candidate), torn_candidate = 0;
      continue;
    }
    if (!matched) return fail("mac does not match (line edited, or wrong key)");
    if (first && rec->seq != 1 && IsContinuation(rec->action)) {
      // This file continues a chain from an earlier file (reopened or recovered).
      r.continues_after = rec->seq - 1;
      r.head = ChainHead{rec->seq - 1, Bytes(32, 0)};
      if (auto prev = HexDecode(rec->prev_hex); prev.ok()) r.head.mac = std::move(prev).value();
      if (expected_head && expected_head->seq <= r.continues_after) saw_expected = true;
    }
    first = false;
    if (rec->seq != r.head.seq + 1) {
      if (torn_candidate != 0) r.lines = torn_candidate;
      return fail(torn_candidate != 0 ? "line is damaged or has no mac"
                                      : "sequence number " + std::to_string(rec->seq) + " where " +
                                            std::to_string(r.head.seq + 1) +
                                            " was expected (lines deleted or reordered)");
    }
    if (rec->prev_hex != HexEncode(r.head.mac)) {
      if (torn_candidate != 0) r.lines = torn_candidate;
      return fail(torn_candidate != 0
                      ? "line is damaged or has no mac"
                      : "prev does not match the previous line's mac (lines deleted or "
                        "reordered)");
    }
    if (torn_candidate != 0) r.torn_lines.push_back(torn_candidate), torn_candidate = 0;
    r.head = ChainHead{rec->seq, rec->mac};
    if (expected_head && r.head.seq == expected_head->seq) {
      if (r.head.mac != expected_head->mac)
        return fail("line does not match the chain head recorded in the database");
      saw_expected = true;
    }
  }
  if (torn_candidate != 0) {
    // A whole line that is no record, and nothing after it to show it was a cut write.
    r.lines = torn_candidate;
    return fail("line is damaged or has no mac");
  }
  if (!saw_expected) {
    r.bad_line = r.lines + 1;
    r.ok = false;
    r.problem = "log ends at sequence " + std::to_string(r.head.seq) +
                " but the database recorded sequence " + std::to_string(expected_head->seq) +
                " (log truncated)";
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace sirr::audit
