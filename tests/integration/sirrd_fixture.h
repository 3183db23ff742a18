#pragma once

// The integration-test fixture: starts a real sirrd (port 0, temporary data dir and key file)
// and drives it through HTTP (our libcurl client) and the sirr CLI.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "testing/subprocess.h"

namespace sirr_it {

namespace fs = std::filesystem;
using nlohmann::json;

inline constexpr const char* kToken = "test-admin-token-0123456789abcdefgh";
inline constexpr const char* kKeyB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
inline constexpr const char* kKeyMnemonic =
    "abandon amount liar amount expire adjust cage candy arch gather drum bullet absurd math era "
    "live bid rhythm alien crouch range attend journey unaware";

struct ExecResult {
  int code = -1;
  std::string out, err;
};

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Runs argv with extra environment (value "" unsets), stdin data; captures stdout and stderr.
inline ExecResult Exec(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env, const std::string& input,
                       const fs::path& scratch) {
  fs::path out = scratch / "exec.out", err = scratch / "exec.err", in = scratch / "exec.in";
  std::ofstream(in, std::ios::binary) << input;
  pid_t pid = sirr::testing::Spawn(argv, env, {in.string(), out.string(), err.string()});
  if (pid < 0) return {127, "", "cannot start " + argv[0]};
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out), ReadFile(err)};
}

class SirrdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sirr-it-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "data");
    key_file_ = dir_ / "master.key";
    WriteKey(key_file_, kKeyB64);
    token_file_ = dir_ / "admin.token";
    std::ofstream(token_file_) << kToken << "\n";
  }
  void TearDown() override {
    Stop();
    fs::remove_all(dir_);
  }

  static void WriteKey(const fs::path& p, const std::string& content, mode_t mode = 0400) {
    fs::remove(p);
    std::ofstream(p) << content << "\n";
    chmod(p.c_str(), mode);
  }

  std::map<std::string, std::string> Env() {
    return {{"SIRR_KEY_FILE", key_file_.string()},
            {"SIRR_ADMIN_TOKEN_FILE", token_file_.string()},
            {"SIRR_DATA_DIR", (dir_ / "data").string()},
            {"SIRR_ADDR", "127.0.0.1:0"},
            {"SIRR_SWEEP_INTERVAL", "1"},
            {"SIRR_READY_FILE", (dir_ / "ready").string()}};
  }

  // Starts sirrd and waits until it listens (it writes its URL to SIRR_READY_FILE). Returns
  // false if it exited instead.
  bool Start(std::map<std::string, std::string> extra = {}) {
    auto env = Env();
    for (auto& [k, v] : extra) env[k] = v;
    const fs::path ready = env["SIRR_READY_FILE"];
    std::error_code ec;
    fs::remove(ready, ec);
    log_ = dir_ / ("sirrd." + std::to_string(++starts_) + ".log");
    pid_ = sirr::testing::Spawn({SIRRD_BIN}, env,
                                {.in = "", .out = stdout_file_.string(), .err = log_.string()});
    if (pid_ < 0) return false;
    for (int i = 0; i < 200; ++i) {
      std::string url = ready.empty() ? "" : ReadFile(ready);
      // "http://HOST:PORT\n" or https; a wildcard address is reached on 127.0.0.1.
      const size_t colon = url.rfind(':');
      if (url.ends_with('\n') && url.find("://") != std::string::npos &&
          colon != std::string::npos && colon > url.find("://")) {
        port_ = std::stoi(url.substr(colon + 1));
        server_ = url.substr(0, url.find("://") + 3) + "127.0.0.1:" + std::to_string(port_);
        return true;
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  int Stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Runs sirrd expecting it to exit (fail-closed cases).
  ExecResult RunSirrd(std::map<std::string, std::string> extra,
                      std::vector<std::string> args = {}) {
    auto env = Env();
    for (auto& [k, v] : extra) env[k] = v;
    args.insert(args.begin(), SIRRD_BIN);
    return Exec(args, env, "", dir_);
  }

  ExecResult Cli(std::vector<std::string> args, const std::string& input = "",
                 const std::string& token = kToken) {
    args.insert(args.begin(), SIRR_BIN);
    return Exec(args, {{"SIRR_SERVER", server_}, {"SIRR_TOKEN", token}, {"SIRR_VAULT", ""}}, input,
                dir_);
  }

  sirr::client::HttpResponse Http(const std::string& method, const std::string& path,
                                  const std::string& body = "", const std::string& token = kToken) {
    sirr::client::Client c(server_, sirr::SecretBytes::FromString(token));
    if (!ca_file_.empty()) c.SetCaFile(ca_file_);
    auto r = c.Do(method, path, body);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(r).value() : sirr::client::HttpResponse();
  }

  // Pushes `prefix`0, `prefix`1, … with `value` into the default vault until `refusals` pushes
  // got 503 (or 2,000 tries). Returns the acknowledged names; counts other answers in `other`.
  std::vector<std::string> PushUntilRefused(const std::string& prefix, const std::string& value,
                                            int refusals, int* refused, int* other) {
    std::vector<std::string> acked;
    for (int i = 0; i < 2000 && *refused < refusals; ++i) {
      const std::string name = prefix + std::to_string(i);
      const int status = Http("POST", "/api/v1/vaults/default/secrets",
                              json{{"name", name}, {"value", value}}.dump())
                             .status;
      if (status == 201)
        acked.push_back(name);
      else if (status == 503)
        ++*refused;
      else
        ++*other;
    }
    return acked;
  }

  // A raw TCP connection to sirrd from `source` (another loopback address counts as another
  // client); -1 on failure.
  int Connect(const char* source = "127.0.0.1") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source, &src.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      close(fd);
      return -1;
    }
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
      close(fd);
      return -1;
    }
    timeval tv{3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  // Reads until the peer closes or `seconds` pass without data; returns what arrived and
  // whether the peer closed.
  static std::string ReadAll(int fd, bool* closed = nullptr, int seconds = 3) {
    timeval tv{seconds, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string out;
    char buf[4096];
    bool eof = false;
    while (true) {
      ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n == 0) eof = true;
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    if (closed) *closed = eof;
    return out;
  }
  // Sends `bytes` on a new connection and returns everything sirrd answers until it closes.
  std::string Raw(const std::string& bytes, bool* closed = nullptr) {
    int fd = Connect();
    if (fd < 0) return "";
    (void)!write(fd, bytes.data(), bytes.size());
    std::string out = ReadAll(fd, closed);
    close(fd);
    return out;
  }

  fs::path dir_, key_file_, token_file_, log_;
  std::string ca_file_;   // trusted by Http() for an https:// server
  fs::path stdout_file_;  // sirrd's stdout goes here when set (else inherited)
  pid_t pid_ = -1;
  int port_ = 0, starts_ = 0;
  std::string server_;
};

inline const std::string kSecrets = "/api/v1/vaults/default/secrets";

}  // namespace sirr_it
