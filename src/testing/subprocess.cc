#include "testing/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
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

pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const SpawnFiles& files) {
  std::vector<std::string> vars;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view v(*e);
    if (!env.contains(std::string(v.substr(0, v.find('='))))) vars.emplace_back(v);
  }
  for (const auto& [k, v] : env)
    if (!v.empty()) vars.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& v : vars) envp.push_back(v.data());
  envp.push_back(nullptr);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!files.in.empty())
    posix_spawn_file_actions_addopen(&actions, 0, files.in.c_str(), O_RDONLY, 0);
  if (!files.out.empty())
    posix_spawn_file_actions_addopen(&actions, 1, files.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  if (!files.err.empty())
    posix_spawn_file_actions_addopen(&actions, 2, files.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

RunResult Run(const std::vector<std::string>& argv, const std::string& stdin_data) {
  int out_pipe[2], in_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return {};
  if (pipe2(in_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return {};
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  pid_t pid = -1;
  const bool started = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) == 0;
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (!started) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    return {.exit_code = 127, .out = ""};
  }
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
