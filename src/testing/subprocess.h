#pragma once

// Test helper: runs a command (argv, no shell) and captures stdout; for oracle cross-checks.

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sirr::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
};

RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_data = "");

// Starts argv (argv[0] a path) with this process's environment changed by `env` (a value ""
// unsets the variable); stdin, stdout and stderr come from the named files when given (stdout
// and stderr are truncated), else they are inherited. Returns the pid, or -1.
//
// posix_spawn, with everything prepared beforehand: the tests call this while their own
// threads run, and a forked child of a multithreaded process must not allocate before exec
// (under ASan a lock another thread held at fork() kept the child spinning forever).
struct SpawnFiles {
  std::string in, out, err;
};
pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const SpawnFiles& files = {});

// An npm oracle script ready for /usr/bin/node: copies `oracle_dir`/`script` next to
// `node_dir`/node_modules (ESM resolves packages beside the script) and returns the copy's
// path; nullopt when node or node_modules/`package` is missing (the caller skips).
std::optional<std::string> NodeOracle(const std::string& node_dir, const std::string& oracle_dir,
                                      const std::string& script, const std::string& package);

// True when `/usr/bin/python3 -c "import <module>"` works.
bool PythonHas(const std::string& module);

}  // namespace sirr::testing
