#pragma once

// sirrd's operator log on stderr (docs/operator.md "Logging"): `SIRR_LOG_FORMAT=text|json`,
// `SIRR_LOG_LEVEL=debug|info|warning|error`, one access line per request, and repeated
// warning/error lines folded into one line with a count.
//
// Never given secret values, tokens, key material or raw query strings: callers pass route
// templates and ids only.
//
// Thread safety: every function is thread-safe. Access lines are buffered and written by a
// flusher thread (at least every 100 ms) or before the next operator line, so they stay in
// order with it; Flush() writes them at once.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace sirr::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class Format { kText, kJson };

StatusOr<Level> ParseLevel(std::string_view text);
StatusOr<Format> ParseFormat(std::string_view text);
std::string_view LevelName(Level level);

struct Options {
  Format format = Format::kText;
  Level level = Level::kInfo;
  bool access_log = true;
  // Identical warning/error lines within this window after the first are counted, not
  // written; the count is written once the window ends.
  int64_t repeat_window_ms = 10'000;
};
void Configure(const Options& options);
Options Current();

using Fields = std::vector<std::pair<std::string_view, std::string>>;

// One operator line: text "TIME sirrd LEVEL: message k=v ...", JSON
// {"time":…,"level":…,"msg":…,k:v,…}.
void Write(Level level, std::string_view message, const Fields& fields = {});
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Warning(std::string_view m) { Write(Level::kWarning, m); }
inline void Error(std::string_view m) { Write(Level::kError, m); }

struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view route;  // the route template, "-" when none matched
  int status = 0;
  double duration_ms = 0;
  std::string_view principal;  // "admin", "token:<id>", a JWT subject; "" when none
  std::string_view client;
};
// One access line (when access logging is on): text "TIME sirrd access: METHOD ROUTE STATUS
// DURATIONms id=… principal=… client=…", JSON {"time":…,"level":"info","msg":"request",…}.
void Access(const AccessRecord& record);

// Writes buffered access lines and the counts of folded repeats whose window ended.
void Flush();

// Tests: where lines go instead of stderr (null: stderr again).
void SetSinkForTesting(std::string* sink);

}  // namespace sirr::log
