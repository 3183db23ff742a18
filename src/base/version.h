#pragma once

// What this binary is: the release version, the source commit and the build type, for
// `sirr --version`, `sirrd --version` and /health.

#include <string>
#include <string_view>

namespace sirr {

std::string_view Version();    // "0.1.0"
std::string_view Commit();     // "96dfc03a1b2c", "…-dirty" for a modified tree, or "unknown"
std::string_view BuildType();  // "RelWithDebInfo", "Debug", ...
// "<program> 0.1.0 (commit 96dfc03a1b2c, RelWithDebInfo build)".
std::string VersionLine(std::string_view program);

}  // namespace sirr
