// Part of AuditLog (audit_log.h): checking the open file, recovery of a lost log, rotation and
// retention, and the set of audit files in a directory.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "audit/audit_internal.h"
#include "audit/audit_log.h"
#include "base/encoding.h"
#include "base/log.h"
#include "crypto/crypto.h"

namespace sirr::audit {

using internal::FirstRecord;
using internal::IsContinuation;
using internal::IsRotatedName;
using internal::kAppendWait;
using internal::kNotWritable;
using internal::LastRecord;
using internal::ParsedRecord;
using internal::ParseRecord;
using internal::ParseRfc3339;
using internal::RotatedName;
using internal::SyncDir;

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
  AdoptFileLocked(fd);
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

void AuditLog::AdoptFileLocked(int fd) {
  ops_.Sync(fd_);
  ops_.Close(fd_);
  fd_ = fd;
  AuditFileOps::Info fresh;
  if (ops_.Stat(fd_, &fresh) == 0) file_id_ = fresh.id;
  size_ = 0;
  torn_ = false;
  file_first_seq_ = 0;
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

StatusOr<std::string> AuditLog::MaybeRotate() {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(kAppendWait)) return UnavailableError(std::string(kNotWritable));
  if (fd_ < 0 || key_.empty() || size_ == 0) return std::string();
  std::string reason;
  if (options_.rotate_bytes > 0 && size_ >= options_.rotate_bytes)
    reason = "size (" + std::to_string(size_) +
             " bytes >= SIRR_AUDIT_ROTATE_BYTES=" + std::to_string(options_.rotate_bytes) + ")";
  else if (options_.rotate_seconds > 0 && file_started_ms_ > 0 &&
           clock_.NowMillis() - file_started_ms_ >= options_.rotate_seconds * 1000)
    reason = "age (SIRR_AUDIT_ROTATE_SECONDS=" + std::to_string(options_.rotate_seconds) + ")";
  if (reason.empty()) return std::string();
  std::string what;
  SIRR_RETURN_IF_ERROR(RotateLocked(reason, &what));
  return what;
}

StatusOr<std::string> AuditLog::Rotate(std::string_view reason) {
  std::unique_lock lock(mu_, std::defer_lock);
  if (!lock.try_lock_for(kAppendWait)) return UnavailableError(std::string(kNotWritable));
  if (fd_ < 0 || key_.empty()) return FailedPreconditionError("the audit log is sealed");
  std::string what;
  SIRR_RETURN_IF_ERROR(RotateLocked(reason, &what));
  return what;
}

Status AuditLog::RotateLocked(std::string_view reason, std::string* what) {
  // 1. The full file gets its final name; a new file takes the path.
  if (ops_.Sync(fd_) != 0) return UnavailableError("audit log sync failed; not rotated");
  const int64_t now = clock_.NowMillis();
  std::string rotated = RotatedName(path_, now);
  for (int i = 1; std::filesystem::exists(rotated); ++i)
    rotated = RotatedName(path_, now + i);  // two rotations in one millisecond
  if (ops_.Rename(path_, rotated) != 0)
    return UnavailableError("cannot rotate the audit log: rename to " + rotated +
                            " failed: " + std::strerror(errno));
  int fd = ops_.OpenAppend(path_, true);
  if (fd < 0) {
    const int err = errno;
    (void)ops_.Rename(rotated, path_);  // keep writing where we were
    return UnavailableError("cannot rotate the audit log: cannot create a new " + path_ + ": " +
                            std::strerror(err));
  }
  const int64_t first = file_first_seq_, last = head_.seq;
  AdoptFileLocked(fd);
  SyncDir(path_);
  metrics_.rotations.Inc();
  // 2. The new file's first record continues the chain and names the previous file.
  const std::string name = std::filesystem::path(rotated).filename().string();
  Event e;
  e.action = "audit.rotated";
  e.outcome = "success";
  e.principal = "sirrd";
  e.detail = "previous file " + name + " holds records " + std::to_string(first) + "-" +
             std::to_string(last) + "; rotated by " + std::string(reason);
  SIRR_RETURN_IF_ERROR(WriteLocked(EventFields(e), now));
  *what = "audit log rotated: " + name + " holds records " + std::to_string(first) + "-" +
          std::to_string(last);
  // 3. Retention: the record saying what goes is written (and synced) before the files go, so
  //    that the remaining set still verifies from its first record.
  if (options_.keep <= 0) return OkStatus();
  std::vector<std::string> files = RotatedFiles();
  if (files.size() <= static_cast<size_t>(options_.keep)) return OkStatus();
  const size_t drop = files.size() - static_cast<size_t>(options_.keep);
  auto oldest_kept = FirstRecord(files[drop]);
  if (!oldest_kept) return OkStatus();  // cannot tell what would go: keep everything
  const int64_t through = oldest_kept->seq - 1;
  std::string names;
  for (size_t i = 0; i < drop; ++i)
    names += (i ? ", " : "") + std::filesystem::path(files[i]).filename().string();
  Event p;
  p.action = "audit.pruned";
  p.outcome = "success";
  p.principal = "sirrd";
  p.detail = "pruned_through=" + std::to_string(through) +
             "; removed under SIRR_AUDIT_KEEP=" + std::to_string(options_.keep) + ": " + names;
  SIRR_RETURN_IF_ERROR(WriteLocked(EventFields(p), now));
  if (ops_.Sync(fd_) != 0) return UnavailableError("audit log sync failed; nothing pruned");
  for (size_t i = 0; i < drop; ++i) ::unlink(files[i].c_str());
  SyncDir(path_);
  *what += "; removed " + std::to_string(drop) + " old file(s), records up to " +
           std::to_string(through);
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
    if (first) {
      r.first_seq = rec->seq;
      if (auto prev = HexDecode(rec->prev_hex); prev.ok()) r.first_prev = std::move(prev).value();
    }
    r.pruned_through = std::max(r.pruned_through, rec->pruned_through);
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

int64_t LastSequence(const std::string& path) {
  auto last = LastRecord(path);
  return last ? last->seq : 0;
}

std::vector<std::string> AuditFilesIn(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("audit") && name.find(".log") != std::string::npos &&
        name.find(".replaced-") == std::string::npos && e.is_regular_file(ec))
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<SetResult> VerifySet(const std::vector<std::string>& paths,
                              std::span<const SecretBytes* const> mac_keys,
                              const std::optional<ChainHead>& expected_head,
                              bool allow_missing_start) {
  SetResult set;
  set.head = ChainHead{0, Bytes(32, 0)};
  for (const auto& path : paths) {
    SIRR_ASSIGN_OR_RETURN(VerifyResult r, Verify(path, mac_keys, std::nullopt));
    if (!r.ok)
      set.problems.push_back(path + ": line " + std::to_string(r.bad_line) + ": " + r.problem);
    if (r.first_seq == 0 && r.ok) continue;  // an empty file holds nothing to chain
    set.files.push_back({path, std::move(r)});
  }
  std::sort(set.files.begin(), set.files.end(), [](const FileReport& a, const FileReport& b) {
    return a.result.first_seq < b.result.first_seq;
  });
  for (const auto& f : set.files)
    set.pruned_through = std::max(set.pruned_through, f.result.pruned_through);
  for (size_t i = 0; i < set.files.size(); ++i) {
    const VerifyResult& r = set.files[i].result;
    if (!r.ok) continue;
    if (i == 0) {
      if (r.first_seq > 1 && r.first_seq - 1 > set.pruned_through && !allow_missing_start)
        set.problems.push_back("records 1-" + std::to_string(r.first_seq - 1) +
                               " are missing before " + set.files[i].path +
                               " (no audit.pruned record covers them)");
    } else {
      const VerifyResult& before = set.files[i - 1].result;
      if (r.first_seq != before.head.seq + 1)
        set.problems.push_back(r.first_seq <= before.head.seq
                                   ? set.files[i].path + " overlaps " + set.files[i - 1].path
                                   : "gap: records " + std::to_string(before.head.seq + 1) + "-" +
                                         std::to_string(r.first_seq - 1) + " are missing between " +
                                         set.files[i - 1].path + " and " + set.files[i].path);
      else if (r.first_prev != before.head.mac)
        set.problems.push_back(set.files[i].path + " does not continue " + set.files[i - 1].path +
                               " (its first record's prev is not that file's last mac)");
    }
    set.head = r.head;
  }
  if (expected_head && expected_head->seq > 0) {
    bool found = false;
    for (const auto& f : set.files) {
      if (expected_head->seq < f.result.first_seq || expected_head->seq > f.result.head.seq)
        continue;
      found = true;
      auto again = Verify(f.path, mac_keys, expected_head);
      if (again.ok() && !again->ok) set.problems.push_back(f.path + ": " + again->problem);
    }
    if (!found && set.head.seq < expected_head->seq)
      set.problems.push_back("the chain ends at sequence " + std::to_string(set.head.seq) +
                             " but the database recorded " + std::to_string(expected_head->seq) +
                             " (records cut off the end)");
  }
  set.ok = set.problems.empty() && !set.files.empty();
  if (set.files.empty() && set.problems.empty()) set.problems.push_back("no audit records found");
  return set;
}

}  // namespace sirr::audit
