#pragma once

// Test helper: runs a command (argv, no shell) and captures stdout; for oracle cross-checks.

#include <optional>
#include <string>
#include <vector>

namespace sirr::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_data = "");

// An npm oracle script ready for /usr/bin/node: copies `oracle_dir`/`script` next to
// `node_dir`/node_modules (ESM resolves packages beside the script) and returns the copy's
// path; nullopt when node or node_modules/`package` is missing (the caller skips).
std::optional<std::string> NodeOracle(const std::string& node_dir, const std::string& oracle_dir,
                                      const std::string& script, const std::string& package);

// True when `/usr/bin/python3 -c "import <module>"` works.
bool PythonHas(const std::string& module);

}  // namespace sirr::testing
