#include "audit/audit_search.h"

#include "audit/audit_log.h"

#include <deque>
#include <fstream>
#include <nlohmann/json.hpp>

namespace sirr::audit {
namespace {

using nlohmann::json;

// "2026-11-30T10:00:00Z" or with fractional seconds: normalised to the log's
// "YYYY-MM-DDTHH:MM:SS.mmmZ" so that bounds compare as text.
std::optional<std::string> NormaliseTime(const std::string& t) {
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
      t.back() != 'Z')
    return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18})
    if (!std::isdigit(static_cast<unsigned char>(t[i]))) return std::nullopt;
  std::string ms = "000";
  if (t.size() > 20) {
    if (t[19] != '.') return std::nullopt;
    std::string frac = t.substr(20, t.size() - 21);
    if (frac.empty() || frac.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    frac.resize(3, '0');
    ms = frac;
  }
  return t.substr(0, 19) + "." + ms + "Z";
}

bool TargetMatches(const json& target, const char* id_field, const char* name_field,
                   const std::string& want) {
  if (want.empty()) return true;
  if (!target.is_object()) return false;
  auto eq = [&](const char* f) {
    auto it = target.find(f);
    return it != target.end() && it->is_string() && it->get<std::string>() == want;
  };
  return eq(id_field) || eq(name_field);
}

bool FieldIs(const json& j, const char* field, const std::string& want) {
  if (want.empty()) return true;
  auto it = j.find(field);
  return it != j.end() && it->is_string() && it->get<std::string>() == want;
}

bool ActionMatches(const json& j, const std::string& want) {
  if (want.empty()) return true;
  auto it = j.find("action");
  if (it == j.end() || !it->is_string()) return false;
  const std::string& a = it->get_ref<const std::string&>();
  if (want.back() == '*') return a.starts_with(std::string_view(want).substr(0, want.size() - 1));
  return a == want;
}

}  // namespace

Status ValidateQuery(const AuditQuery& q) {
  if (!q.since.empty() && !NormaliseTime(q.since))
    return InvalidArgumentError("since must be an RFC 3339 UTC time, e.g. 2026-11-30T10:00:00Z");
  if (!q.until.empty() && !NormaliseTime(q.until))
    return InvalidArgumentError("until must be an RFC 3339 UTC time, e.g. 2026-11-30T10:00:00Z");
  if (q.limit < 1 || q.limit > 1000) return InvalidArgumentError("limit must be from 1 to 1000");
  if (q.after < 0) return InvalidArgumentError("after must be a sequence number (0 or more)");
  return OkStatus();
}

StatusOr<AuditPage> Search(const std::vector<std::string>& files, const AuditQuery& q) {
  SIRR_RETURN_IF_ERROR(ValidateQuery(q));
  const std::string since = q.since.empty() ? "" : *NormaliseTime(q.since);
  const std::string until = q.until.empty() ? "" : *NormaliseTime(q.until);
  AuditPage page;
  std::deque<std::pair<int64_t, std::string>> found;
  bool more = false;
  for (size_t f = 0; f < files.size() && !more; ++f) {
    // Whole files before the cursor are skipped (the current log, last, is always read).
    if (q.after > 0 && f + 1 < files.size() && LastSequence(files[f]) <= q.after) continue;
    std::ifstream in(files[f], std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // no newline yet: a write in progress
      auto j = json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("seq") || !j["seq"].is_number_integer()) continue;
      const int64_t seq = j["seq"].get<int64_t>();
      if (seq <= q.after) continue;
      const std::string time = j.value("time", std::string());
      if (!since.empty() && time < since) continue;
      if (!until.empty() && time >= until) continue;
      if (!ActionMatches(j, q.action) || !FieldIs(j, "principal", q.principal) ||
          !FieldIs(j, "outcome", q.outcome))
        continue;
      const json& target = j.contains("target") ? j["target"] : json();
      if (!TargetMatches(target, "vault_id", "vault", q.vault) ||
          !TargetMatches(target, "secret_id", "secret", q.secret) ||
          !TargetMatches(target, "key_id", "key", q.key))
        continue;
      if (!q.tail && static_cast<int>(found.size()) == q.limit) {
        more = true;
        break;
      }
      found.emplace_back(seq, std::move(line));
      if (q.tail && static_cast<int>(found.size()) > q.limit) found.pop_front();
    }
  }
  for (auto& [seq, text] : found) page.records.push_back(std::move(text));
  if (more && !found.empty()) page.next_after = found.back().first;
  return page;
}

}  // namespace sirr::audit
