#include "seal/providers.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "seal/master_key.h"

extern char** environ;

namespace sirr::seal {
namespace {

void Warn(const ProviderConfig& c, const std::string& message) {
  if (c.log) c.log(message);
}

StatusOr<LoadedKey> FromFile(const ProviderConfig& c, const std::string& path,
                             const std::string& what) {
  SIRR_ASSIGN_OR_RETURN(KeyFile file, ReadKeyFile(path));
  if (file.permission_warning) Warn(c, *file.permission_warning);
  return LoadedKey{std::move(file.key), what + " " + path};
}

StatusOr<LoadedKey> FromDocker(const ProviderConfig& c) {
  if (!c.key_file.empty()) return FromFile(c, c.key_file, "Docker secret");
  for (const char* name : {"unsealerkey", "master_key"}) {
    std::string path = c.docker_secrets_dir + "/" + name;
    if (::access(path.c_str(), F_OK) == 0) return FromFile(c, path, "Docker secret");
  }
  return NotFoundError("docker provider: no Docker secret at " + c.docker_secrets_dir +
                       "/unsealerkey or " + c.docker_secrets_dir +
                       "/master_key (or set SIRR_KEY_FILE)");
}

}  // namespace

std::string TakeEnvironmentVariable(const char* name) {
  char* value = std::getenv(name);
  if (value == nullptr) return "";
  std::string out(value);
  char* entry = value - std::strlen(name) - 1;
  const size_t entry_size = std::strlen(entry);
  ::unsetenv(name);
  SecureWipe(entry, entry_size);
  return out;
}

namespace {

// Reads the variable, wipes its bytes in place (so /proc/PID/environ no longer shows them) and
// removes it from the environment.
StatusOr<LoadedKey> FromEnv(const ProviderConfig& c) {
  for (const char* name : {"SEAL_UNSEAL_KEY", "VAULT_SEAL_UNSEAL_KEY"}) {
    char* value = std::getenv(name);
    if (value == nullptr) continue;
    Warn(c, std::string("the master key came from the environment variable ") + name +
                ", which other processes can read through /proc and 'docker inspect'; use the "
                "file, docker, pkcs11 or command provider outside development");
    auto key = ParseMasterKey(value);
    // Remove it from the environment, then wipe "NAME=value" where the kernel keeps it.
    char* entry = value - std::strlen(name) - 1;
    const size_t entry_size = std::strlen(entry);
    ::unsetenv(name);
    SecureWipe(entry, entry_size);
    if (!key.ok())
      return InvalidArgumentError(std::string("environment variable ") + name + ": " +
                                  key.status().message());
    return LoadedKey{std::move(key).value(), std::string("environment variable ") + name};
  }
  return NotFoundError("env provider: neither SEAL_UNSEAL_KEY nor VAULT_SEAL_UNSEAL_KEY is set");
}

StatusOr<LoadedKey> FromCommand(const ProviderConfig& c) {
  if (c.command.empty())
    return FailedPreconditionError("command provider: SIRR_SEAL_COMMAND is not set");
  SIRR_ASSIGN_OR_RETURN(auto argv, SplitCommandLine(c.command));
  if (argv.empty()) return FailedPreconditionError("command provider: SIRR_SEAL_COMMAND is empty");
  auto log = [&c](const std::string& line) { Warn(c, "seal command: " + line); };
  SIRR_ASSIGN_OR_RETURN(CommandOutput out, RunCommand(argv, c.command_timeout_seconds, 4096, log));
  const std::string what = "seal command " + argv[0];
  if (out.exit_code != 0)
    return UnavailableError(what + " exited with status " + std::to_string(out.exit_code));
  auto key = ParseMasterKey(out.out.reveal_string());
  if (!key.ok()) return InvalidArgumentError(what + " printed " + key.status().message());
  return LoadedKey{std::move(key).value(), what};
}

StatusOr<LoadedKey> FromPkcs11(const ProviderConfig& c) {
  SIRR_ASSIGN_OR_RETURN(SecretBytes key, Pkcs11UnwrapMasterKey(c.pkcs11));
  return LoadedKey{std::move(key), "PKCS#11 key '" + c.pkcs11.key_label + "' on token '" +
                                       c.pkcs11.token_label + "'"};
}

void SetCloexecPipe(int fds[2]) {
  ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
}

}  // namespace

StatusOr<LoadedKey> LoadMasterKey(const ProviderConfig& c) {
  if (c.provider == "file") {
    if (c.key_file.empty())
      return FailedPreconditionError("no key file configured (set SIRR_KEY_FILE)");
    return FromFile(c, c.key_file, "key file");
  }
  if (c.provider == "docker") return FromDocker(c);
  if (c.provider == "env") return FromEnv(c);
  if (c.provider == "api") return LoadedKey{std::nullopt, "POST /api/v1/unseal"};
  if (c.provider == "pkcs11") return FromPkcs11(c);
  if (c.provider == "command") return FromCommand(c);
  std::string known;
  for (const auto& n : KnownProviders()) known += (known.empty() ? "" : ", ") + n;
  return InvalidArgumentError("seal provider '" + c.provider + "' is not known (known: " + known +
                              ")");
}

StatusOr<std::vector<std::string>> SplitCommandLine(std::string_view line) {
  std::vector<std::string> args;
  std::string cur;
  bool in_arg = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char ch = line[i];
    if (ch == ' ' || ch == '\t' || ch == '\n') {
      if (in_arg) args.push_back(std::move(cur));
      cur.clear();
      in_arg = false;
    } else if (ch == '\'') {
      size_t end = line.find('\'', i + 1);
      if (end == std::string_view::npos)
        return InvalidArgumentError("SIRR_SEAL_COMMAND has an unterminated ' quote");
      cur.append(line.substr(i + 1, end - i - 1));
      i = end;
      in_arg = true;
    } else if (ch == '"') {
      size_t j = i + 1;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size() && (line[j + 1] == '"' || line[j + 1] == '\\'))
          ++j;
        cur.push_back(line[j]);
      }
      if (j >= line.size())
        return InvalidArgumentError("SIRR_SEAL_COMMAND has an unterminated \" quote");
      i = j;
      in_arg = true;
    } else if (ch == '\\') {
      if (i + 1 >= line.size())
        return InvalidArgumentError("SIRR_SEAL_COMMAND ends with a backslash");
      cur.push_back(line[++i]);
      in_arg = true;
    } else {
      cur.push_back(ch);
      in_arg = true;
    }
  }
  if (in_arg) args.push_back(std::move(cur));
  return args;
}

StatusOr<CommandOutput> RunCommand(const std::vector<std::string>& argv, int timeout_seconds,
                                   size_t max_output,
                                   const std::function<void(const std::string&)>& log) {
  if (argv.empty()) return InvalidArgumentError("empty command");
  int out_pipe[2], err_pipe[2];
  if (::pipe(out_pipe) != 0) return UnavailableError("cannot create a pipe");
  if (::pipe(err_pipe) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return UnavailableError("cannot create a pipe");
  }
  SetCloexecPipe(out_pipe);
  SetCloexecPipe(err_pipe);
  // Prepare everything the child needs before fork (no allocation after it).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.starts_with("SEAL_UNSEAL_KEY=") || v.starts_with("VAULT_SEAL_UNSEAL_KEY=") ||
        v.starts_with("SIRR_ADMIN_TOKEN="))
      continue;
    env.push_back(*e);
  }
  env.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return UnavailableError("cannot fork for the seal command");
  if (pid == 0) {
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execve(args[0], args.data(), env.data());
    if (std::strchr(args[0], '/') == nullptr) ::execvpe(args[0], args.data(), env.data());
    const char msg[] = "cannot execute the command\n";
    (void)!::write(2, msg, sizeof(msg) - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  CommandOutput result;
  result.out = SecretBytes(max_output + 1);
  size_t out_len = 0;
  std::string err_line;
  bool out_open = true, err_open = true, too_long = false, timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2] = {{out_open ? out_pipe[0] : -1, POLLIN, 0},
                     {err_open ? err_pipe[0] : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      uint8_t* dst = result.out.reveal_mut().data() + out_len;
      size_t room = result.out.size() - out_len;
      ssize_t got = room > 0 ? ::read(out_pipe[0], dst, room) : 0;
      if (got > 0) out_len += static_cast<size_t>(got);
      if (out_len > max_output) too_long = true;
      if (got <= 0 || too_long) out_open = false;
    }
    if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[512];
      ssize_t got = ::read(err_pipe[0], buf, sizeof(buf));
      if (got <= 0) {
        err_open = false;
      } else {
        err_line.append(buf, static_cast<size_t>(got));
        size_t nl;
        while ((nl = err_line.find('\n')) != std::string::npos) {
          if (log) log(err_line.substr(0, nl));
          err_line.erase(0, nl + 1);
        }
        if (err_line.size() > 4096) err_line.clear();
      }
    }
  }
  if (!err_line.empty() && log) log(err_line);
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  if (timed_out || too_long) ::kill(-pid, SIGKILL);
  int status = 0;
  // The command may have closed its pipes but not exited yet: wait up to the deadline.
  while (true) {
    pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (timed_out)
    return UnavailableError("the command " + argv[0] + " did not finish within " +
                            std::to_string(timeout_seconds) + " s and was killed");
  if (too_long)
    return InvalidArgumentError("the command " + argv[0] + " printed more than " +
                                std::to_string(max_output) + " bytes");
  result.out.Truncate(out_len);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace sirr::seal
