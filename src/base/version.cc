#include "base/version.h"

#include "version_info.h"  // generated at build time: SIRR_COMMIT

#ifndef SIRR_VERSION
#define SIRR_VERSION "0.0.0"
#endif
#ifndef SIRR_BUILD_TYPE
#define SIRR_BUILD_TYPE "unknown"
#endif

namespace sirr {

std::string_view Version() { return SIRR_VERSION; }
std::string_view Commit() { return SIRR_COMMIT; }
std::string_view BuildType() { return SIRR_BUILD_TYPE; }

std::string VersionLine(std::string_view program) {
  return std::string(program) + " " + std::string(Version()) + " (commit " + std::string(Commit()) +
         ", " + std::string(BuildType()) + " build)";
}

}  // namespace sirr
