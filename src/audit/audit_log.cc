#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audit/audit_internal.h"
#include "base/encoding.h"
#include "base/log.h"
#include "crypto/crypto.h"

namespace sirr::audit {
namespace internal {

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

}  // namespace internal

using internal::FirstRecord;
using internal::IsContinuation;
using internal::IsRotatedName;
using internal::kAppendWait;
using internal::kMacPrefix;
using internal::kNotWritable;
using internal::LastRecord;
using internal::MacHex;
using internal::ParsedRecord;
using internal::ParseRecord;
using internal::ParseRfc3339;
using internal::RotatedName;
using internal::SplitLine;
using internal::SyncDir;

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
                       std::string_view fields, int64_t journal, std::string_view node) {
  std::string body;
  body.reserve(fields.size() + 256);
  body.append("{\"seq\":").append(std::to_string(seq));
  AppendMember(body, "time", time);
  body.push_back(',');
  body.append(fields);
  if (journal > 0) body.append(",\"journal\":").append(std::to_string(journal));
  if (!node.empty()) AppendMember(body, "node", node);
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

namespace internal {

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
  if (j.contains("time") && j["time"].is_string()) r.time = j["time"].get<std::string>();
  if (r.action == "audit.pruned" && j.contains("detail") && j["detail"].is_string()) {
    const std::string detail = j["detail"].get<std::string>();
    constexpr std::string_view kKey = "pruned_through=";
    if (detail.starts_with(kKey)) {
      int64_t n = 0;
      for (size_t i = kKey.size();
           i < detail.size() && std::isdigit(static_cast<unsigned char>(detail[i])); ++i)
        n = n * 10 + (detail[i] - '0');
      r.pruned_through = n;
    }
  }
  return r;
}

// The first and the last whole record of a file (nullopt: none).
std::optional<ParsedRecord> FirstRecord(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  for (int i = 0; i < 4 && std::getline(in, line); ++i)
    if (auto r = ParseRecord(line)) return r;
  return std::nullopt;
}

std::optional<ParsedRecord> LastRecord(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  const std::streamoff size = in.tellg();
  const std::streamoff start = std::max<std::streamoff>(0, size - 65536);
  in.seekg(start);
  std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t end = tail.size();
  while (end > 0) {
    size_t nl = tail.rfind('\n', end - 1);
    size_t begin = nl == std::string::npos ? 0 : nl + 1;
    if (begin == 0 && start > 0) break;  // may start mid-line
    if (auto r = ParseRecord(std::string_view(tail).substr(begin, end - begin))) return r;
    if (nl == std::string::npos) break;
    end = nl;
  }
  return std::nullopt;
}

// "2026-11-30T10:15:00.123Z" -> ms since the epoch (0 when unreadable).
int64_t ParseRfc3339(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// "audit.log.20261130T101500.123Z": a file sirrd rotated (not one an external tool named).
bool IsRotatedName(std::string_view name, std::string_view base) {
  if (!name.starts_with(base) || name.size() != base.size() + 1 + 20) return false;
  std::string_view stamp = name.substr(base.size() + 1);
  return name[base.size()] == '.' && stamp[8] == 'T' && stamp[15] == '.' && stamp[19] == 'Z';
}

std::string RotatedName(const std::string& path, int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, ".%04d%02d%02dT%02d%02d%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return path + buf;
}

void SyncDir(const std::string& path) {
  const std::string dir = std::filesystem::path(path).parent_path().string();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// The first record of a file that continues a chain from an earlier file.
bool IsContinuation(std::string_view action) {
  return action == "audit.reopened" || action == "audit.recovered" || action == "audit.rotated";
}

}  // namespace internal

AuditLog::AuditLog(std::string path, const Clock& clock, AuditOptions options)
    : path_(std::move(path)),
      clock_(clock),
      options_(options),
      ops_(*options.ops),
      head_{0, Bytes(32, 0)} {
  for (const auto& sink : options_.sinks) sinks_.push_back({sink, {}});
}

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
  return (!ec && size > 0) || !RotatedFiles().empty();
}

std::vector<std::string> AuditLog::RotatedFiles() const {
  const std::filesystem::path p(path_);
  const std::string base = p.filename().string();
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(
           p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path(), ec))
    if (IsRotatedName(e.path().filename().string(), base)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());  // the names sort by time
  return out;
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
    if (auto first = FirstRecord(path_)) {
      file_first_seq_ = first->seq;
      file_started_ms_ = ParseRfc3339(first->time);
    }
  } else if (info.regular) {
    // An empty file beside rotated ones (a rotation cut short by a crash, or an external
    // logrotate while sirrd was stopped): the chain continues from the file that ends it.
    std::error_code ec;
    const std::filesystem::path p(path_);
    const std::string base = p.filename().string();
    std::optional<ParsedRecord> best;
    for (const auto& e : std::filesystem::directory_iterator(
             p.parent_path().empty() ? std::filesystem::path(".") : p.parent_path(), ec)) {
      const std::string name = e.path().filename().string();
      if (!name.starts_with(base + ".") || name.find(".replaced-") != std::string::npos ||
          !e.is_regular_file(ec))
        continue;
      auto last = LastRecord(e.path().string());
      if (last && (!best || last->seq > best->seq)) {
        best = std::move(last);
        continues_file_ = name;
      }
    }
    if (best) {
      head = ChainHead{best->seq, best->mac};
      journal = best->journal;
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
  if (!continues_file_.empty()) {
    Event e;
    e.action = "audit.rotated";
    e.outcome = "success";
    e.detail = "continues after " + continues_file_ + " (sequence " + std::to_string(head_.seq) +
               "): the file was rotated while sirrd was stopped, or a rotation was cut short";
    SIRR_RETURN_IF_ERROR(WriteLocked(EventFields(e), clock_.NowMillis()));
    continues_file_.clear();
  }
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
  SIRR_RETURN_IF_ERROR(RetrySinksLocked());  // a required sink that cannot take it: nothing
  SIRR_RETURN_IF_ERROR(WriteLocked(fields, clock_.NowMillis()));
  return RetrySinksLocked();
}

Status AuditLog::SinkLocked(std::string_view record, int64_t time_ms) {
  Status result = OkStatus();
  for (SinkState& s : sinks_) {
    const std::string name = s.sink->name();
    if (!s.missed.empty()) {  // a required sink gets what it missed first, in order
      s.missed.emplace_back(record, time_ms);
      continue;
    }
    if (s.sink->Deliver(record, time_ms)) {
      metrics_.sink_records.With({name}).Inc();
      continue;
    }
    metrics_.sink_failures.With({name}).Inc();
    if (s.sink->required()) {
      s.missed.emplace_back(record, time_ms);
      sinks_behind_.store(true, std::memory_order_release);
      result = UnavailableError("audit sink " + name + " is not writable");
    } else {
      log::Error("audit sink " + name + " (optional) lost a record: it cannot be written");
    }
  }
  return result;
}

Status AuditLog::RetrySinksLocked() {
  if (!sinks_behind_.load(std::memory_order_acquire)) return OkStatus();
  bool behind = false;
  for (SinkState& s : sinks_) {
    while (!s.missed.empty()) {
      if (!s.sink->Deliver(s.missed.front().first, s.missed.front().second)) {
        metrics_.sink_failures.With({s.sink->name()}).Inc();
        break;
      }
      metrics_.sink_records.With({s.sink->name()}).Inc();
      s.missed.pop_front();
    }
    if (!s.missed.empty()) {
      behind = true;
      log::Error("audit sink " + s.sink->name() +
                 " (required) cannot be written: requests fail closed (503) until it can");
    }
  }
  sinks_behind_.store(behind, std::memory_order_release);
  return behind ? UnavailableError("a required audit sink is not writable") : OkStatus();
}

void AuditLog::AppendCommitted(std::vector<Committed> records) {
  std::unique_lock lock(mu_);
  if (key_.empty()) return;  // sealed: they stay in the journal until Unseal
  for (Committed& c : records) backlog_.push_back(std::move(c));
  (void)FlushBacklogLocked();  // what cannot be written now waits in the backlog
}

Status AuditLog::Ready() {
  // The common case takes no lock: nothing committed is waiting for the file or a sink.
  if (!behind_.load(std::memory_order_acquire) && !sinks_behind_.load(std::memory_order_acquire))
    return OkStatus();
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(kAppendWait)) return UnavailableError(std::string(kNotWritable));
  if (key_.empty()) return OkStatus();
  SIRR_RETURN_IF_ERROR(FlushBacklogLocked());
  return RetrySinksLocked();
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
  const std::string record =
      SignFields(key_.Decloak(), head_.seq + 1, head_.mac, FormatRfc3339(time_ms), key_id_hex_,
                 fields, journal, options_.node);
  auto mac_bytes = HexDecode(std::string_view(record).substr(record.size() - 66, 64));
  std::string line;
  line.reserve(record.size() + 2);
  if (torn_) line.push_back('\n');  // end the partial line left by a failure
  line += record;
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
  if (file_first_seq_ == 0) {
    file_first_seq_ = head_.seq;
    file_started_ms_ = time_ms;
  }
  (void)SinkLocked(record, time_ms);  // a required sink's failure shows in SinksReady
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

}  // namespace sirr::audit
