#pragma once

// Helpers shared by the audit log's parts (audit_log.cc: writing and opening; audit_rotation.cc:
// file checks, rotation, retention, recovery, and the audit file set). Not a public interface.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/secret_bytes.h"

namespace sirr::audit::internal {

inline constexpr std::string_view kMacPrefix = ",\"mac\":\"";
inline constexpr size_t kMacSuffixSize = kMacPrefix.size() + 64 + 2;  // ,"mac":"<64>"}
inline constexpr auto kAppendWait = std::chrono::seconds(2);
inline constexpr std::string_view kNotWritable = "audit log is not writable";

std::string MacHex(const SecretBytes& key, std::string_view body);
// Splits a line into its body (with the mac member removed) and the mac hex.
bool SplitLine(std::string_view line, std::string* body, std::string_view* mac);

// A record's parts that the writer and the verifier need, when `line` is a whole record.
struct ParsedRecord {
  int64_t seq = 0;
  int64_t journal = 0;
  int64_t pruned_through = 0;  // audit.pruned records
  std::string time;
  std::string action;
  std::string prev_hex;
  Bytes mac;
  std::string body;  // what the mac covers
};

std::optional<ParsedRecord> ParseRecord(std::string_view line);
// The first and the last whole record of a file (nullopt: none).
std::optional<ParsedRecord> FirstRecord(const std::string& path);
std::optional<ParsedRecord> LastRecord(const std::string& path);
// "2026-11-30T10:15:00.123Z" -> ms since the epoch (0 when unreadable).
int64_t ParseRfc3339(const std::string& t);
// "audit.log.20261130T101500.123Z": a file sirrd rotated (not one an external tool named).
bool IsRotatedName(std::string_view name, std::string_view base);
std::string RotatedName(const std::string& path, int64_t ms);
void SyncDir(const std::string& path);
// The first record of a file that continues a chain from an earlier file.
bool IsContinuation(std::string_view action);

}  // namespace sirr::audit::internal
