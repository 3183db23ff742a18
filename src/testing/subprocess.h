#pragma once

// Test helper: runs a command (argv, no shell) and captures stdout; for oracle cross-checks.

#include <string>
#include <vector>

namespace sirr::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_data = "");

// True when `/usr/bin/python3 -c "import <module>"` works.
bool PythonHas(const std::string& module);

}  // namespace sirr::testing
