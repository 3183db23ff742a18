#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

// Appends `s` as a JSON string: quotes, backslashes and control characters escaped as
// nlohmann::json writes them; bytes that are not valid UTF-8 become U+FFFD.
void AppendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\b':
          out.append("\\b");
          break;
        case '\f':
          out.append("\\f");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          if (c < 0x20) {
            out.append("\\u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0xf]);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Multi-byte sequence: lead byte, continuation count and the smallest code point allowed.
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    ok = ok && cp >= min && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append("\xef\xbf\xbd");
      ++i;
    }
  }
  out.push_back('"');
}

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
                       std::string_view fields) {
  std::string body;
  body.reserve(fields.size() + 256);
  body.append("{\"seq\":").append(std::to_string(seq));
  AppendMember(body, "time", time);
  body.push_back(',');
  body.append(fields);
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

AuditLog::AuditLog(std::string path, const Clock& clock)
    : path_(std::move(path)), clock_(clock), head_{0, Bytes(32, 0)} {}

AuditLog::~AuditLog() {
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
  }
}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, SecretBytes mac_key,
                                                   std::string key_id_hex, const Clock& clock) {
  auto log = std::make_unique<AuditLog>(path, clock);
  SIRR_RETURN_IF_ERROR(log->Unseal(std::move(mac_key), std::move(key_id_hex)));
  return log;
}

Status AuditLog::OpenFile() {
  ChainHead head{0, Bytes(32, 0)};
  {
    std::ifstream in(path_, std::ios::binary);
    if (in) {
      // Find the last non-empty line without reading a large file into memory.
      in.seekg(0, std::ios::end);
      std::streamoff size = in.tellg();
      std::streamoff start = std::max<std::streamoff>(0, size - 65536);
      in.seekg(start);
      std::string tail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!tail.empty() && tail.back() == '\n') tail.pop_back();
      if (!tail.empty()) {
        std::string_view last = tail;
        size_t nl = last.rfind('\n');
        if (nl != std::string_view::npos)
          last = last.substr(nl + 1);
        else if (start > 0)
          return DataLossError("audit log " + path_ + " has an overlong last line");
        std::string body;
        std::string_view mac;
        auto parsed = nlohmann::json::parse(last, nullptr, false);
        if (!SplitLine(last, &body, &mac) || parsed.is_discarded() || !parsed.is_object() ||
            !parsed.contains("seq") || !parsed["seq"].is_number_integer())
          return DataLossError("audit log " + path_ +
                               " ends with a damaged line; run 'sirrd audit verify'");
        auto mac_bytes = HexDecode(mac);
        if (!mac_bytes.ok()) return DataLossError("audit log " + path_ + " has a bad mac");
        head = ChainHead{parsed["seq"].get<int64_t>(), std::move(mac_bytes).value()};
      }
    }
  }
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return UnavailableError("cannot open audit log " + path_ + ": " + std::strerror(errno));
  fd_ = fd;
  head_ = std::move(head);
  return OkStatus();
}

Status AuditLog::Unseal(SecretBytes mac_key, std::string key_id_hex, int64_t recorded_seq) {
  std::unique_lock lock(mu_);
  if (fd_ < 0) SIRR_RETURN_IF_ERROR(OpenFile());
  if (head_.seq < recorded_seq)
    return DataLossError("audit log " + path_ + " ends at sequence " + std::to_string(head_.seq) +
                         " but the database recorded " + std::to_string(recorded_seq) +
                         "; it was truncated or replaced (run 'sirrd audit verify')");
  SIRR_ASSIGN_OR_RETURN(key_, crypto::CloakedKey::Cloak(mac_key.reveal()));
  key_id_hex_ = std::move(key_id_hex);
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
  if (fd_ >= 0) ::fdatasync(fd_);
  key_.Wipe();
}

bool AuditLog::sealed() const {
  std::unique_lock lock(mu_);
  return key_.empty();
}

size_t AuditLog::pending() const {
  std::unique_lock lock(mu_);
  return pending_.size();
}

Status AuditLog::Append(const Event& event) {
  // The event's members are serialised before taking the lock; only the chained part
  // (sequence, time, prev, mac) and the write happen under it.
  std::string fields = EventFields(event);
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(kAppendWait)) return UnavailableError("audit log is not writable");
  if (key_.empty()) {
    if (pending_.size() < kMaxPending)
      pending_.emplace_back(std::move(fields), clock_.NowMillis());
    else
      ++dropped_;
    return OkStatus();
  }
  return WriteLocked(fields, clock_.NowMillis());
}

Status AuditLog::WriteLocked(std::string_view fields, int64_t time_ms) {
  std::string line = SignFields(key_.Decloak(), head_.seq + 1, head_.mac, FormatRfc3339(time_ms),
                                key_id_hex_, fields);
  std::string_view body = line;
  std::string_view mac = body.substr(body.size() - 66, 64);
  auto mac_bytes = HexDecode(mac);
  line.push_back('\n');
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return UnavailableError("audit log is not writable");
    written += static_cast<size_t>(n);
  }
  head_.seq += 1;
  head_.mac = std::move(mac_bytes).value();
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
  if (fd >= 0 && ::fdatasync(fd) != 0) return UnavailableError("audit log sync failed");
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
  std::string line;
  std::string body;
  auto fail = [&](std::string problem) {
    r.ok = false;
    r.bad_line = r.lines;
    r.problem = std::move(problem);
    return r;
  };
  bool saw_expected = !expected_head || expected_head->seq == 0;
  while (std::getline(in, line)) {
    ++r.lines;
    if (in.eof()) return fail("line is not terminated (truncated)");
    std::string_view mac_hex;
    if (!SplitLine(line, &body, &mac_hex)) return fail("line is damaged or has no mac");
    auto mac = HexDecode(mac_hex);
    if (!mac.ok()) return fail("mac is not hex");
    bool matched = false;
    for (const SecretBytes* key : mac_keys)
      matched = matched || ConstantTimeEquals(crypto::HmacSha256(*key, AsBytes(body)), *mac);
    if (!matched) return fail("mac does not match (line edited, or wrong key)");
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer() ||
        !j.contains("prev") || !j["prev"].is_string())
      return fail("line is not a valid audit record");
    if (j["seq"].get<int64_t>() != r.head.seq + 1)
      return fail("sequence number " + std::to_string(j["seq"].get<int64_t>()) + " where " +
                  std::to_string(r.head.seq + 1) + " was expected (lines deleted or reordered)");
    if (j["prev"].get<std::string>() != HexEncode(r.head.mac))
      return fail("prev does not match the previous line's mac (lines deleted or reordered)");
    r.head = ChainHead{r.head.seq + 1, std::move(mac).value()};
    if (expected_head && r.head.seq == expected_head->seq) {
      if (r.head.mac != expected_head->mac)
        return fail("line does not match the chain head recorded in the database");
      saw_expected = true;
    }
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
