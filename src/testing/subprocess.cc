#include "testing/subprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace sirr::testing {

std::optional<std::string> NodeOracle(const std::string& node_dir, const std::string& oracle_dir,
                                      const std::string& script, const std::string& package) {
  namespace fs = std::filesystem;
  if (access("/usr/bin/node", X_OK) != 0 ||
      !fs::exists(fs::path(node_dir) / "node_modules" / package))
    return std::nullopt;
  const fs::path copy = fs::path(node_dir) / script;
  std::error_code ec;
  fs::copy_file(fs::path(oracle_dir) / script, copy, fs::copy_options::overwrite_existing, ec);
  if (ec) return std::nullopt;
  return copy.string();
}

RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_data) {
  int out_pipe[2], in_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(in_pipe) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_pipe[1], 1);
    close(in_pipe[1]);
    close(out_pipe[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (!stdin_data.empty()) {
    ssize_t n = write(in_pipe[1], stdin_data.data(), stdin_data.size());
    (void)n;
  }
  close(in_pipe[1]);
  RunResult r;
  char buf[4096];
  ssize_t n;
  while ((n = read(out_pipe[0], buf, sizeof(buf))) > 0) r.out.append(buf, static_cast<size_t>(n));
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == '\r')) r.out.pop_back();
  return r;
}

bool PythonHas(const std::string& module) {
  if (access("/usr/bin/python3", X_OK) != 0) return false;
  return Run({"/usr/bin/python3", "-c", "import " + module}).exit_code == 0;
}

}  // namespace sirr::testing
