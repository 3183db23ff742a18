#pragma once

// The sirr command-line client as a library (apps/sirr.cc holds main() only): one command class
// per noun (commands.h), a Session that carries the settings, the terminal and the transport,
// and RunCli, which parses and runs one command line. Tests drive RunCli in process with a
// Console over string streams and a transport of their own.
//
// Exit codes: 0 success; 1 the server refused the request (unknown, burned or expired secret,
// conflict, invalid input, bad token; `key verify`: not verified); 2 usage error, or `status`
// on a sealed server; 3 the server could not be reached or failed (5xx, 503 sealed).
//
// Thread safety: none needed; one command line at a time.

#include <functional>
#include <iosfwd>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"
#include "client/client.h"

namespace sirr::cli {

using nlohmann::json;

inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitSealed = 2;  // `sirr status` on a sealed server, as `vault status`
inline constexpr int kExitServer = 3;

// The terminal, or test streams.
struct Console {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  bool in_tty = false;   // stdin is a terminal: values are prompted for, without echo
  bool err_tty = false;  // stderr is a terminal: progress bars are drawn
  // Reads one line from the terminal without echo, after printing `prompt` on err.
  std::function<StatusOr<SecretBytes>(std::string_view prompt)> read_hidden;
  // Environment lookup (getenv in main; a map in tests).
  std::function<std::optional<std::string>(const char* name)> env;
};

// The standard streams; read_hidden turns terminal echo off while reading.
Console StandardConsole();

// Where requests go: sirr::client::Client in main, an in-process API in tests.
class Transport {
 public:
  virtual ~Transport() = default;
  // Unavailable when the server cannot be reached.
  virtual StatusOr<client::HttpResponse> Do(const std::string& method, const std::string& path,
                                            const std::string& body) = 0;
};

// Connection settings after flags, environment and the selected context are applied.
struct Settings {
  std::string server = "http://127.0.0.1:39999";
  std::string vault = "default";
  std::string token_file;
  std::string ca_cert;
  std::string client_cert;  // mutual TLS
  std::string client_key;
  std::string context;  // the context used, if any
  bool json = false;    // --json: machine-readable output with the API's field names
};

using TransportFactory =
    std::function<std::unique_ptr<Transport>(const Settings& settings, SecretBytes token)>;
// libcurl to settings.server (trusting settings.ca_cert when set).
TransportFactory HttpTransportFactory();

class Session {
 public:
  Session(Settings settings, Console& console, TransportFactory factory)
      : settings_(std::move(settings)), io_(console), factory_(std::move(factory)) {}

  const Settings& settings() const { return settings_; }
  Console& io() { return io_; }
  bool json_output() const { return settings_.json; }

  // The raw request (the transport is made on first use, with the token loaded then).
  StatusOr<client::HttpResponse> Call(const std::string& method, const std::string& path,
                                      const std::string& body = "");
  // Sends a request and checks the status: nullopt on success (the response in *out), else the
  // exit code after printing an actionable error.
  std::optional<int> Expect(const std::string& method, const std::string& path, int want,
                            client::HttpResponse* out, const std::string& body = "");
  // A request without a token to another server (a share link's), with the same TLS settings.
  StatusOr<client::HttpResponse> CallServer(const std::string& server, const std::string& method,
                                            const std::string& path, const std::string& body);
  // Every page of a listing route into *all; `query` is extra "&k=v" parameters.
  std::optional<int> FetchAll(const std::string& path, const std::string& query, json* all);

  // Prints the server's refusal (with CLI advice, never API field names) and returns 1 or 3.
  int Refused(const client::HttpResponse& r);
  // Prints "sirr: <message>" and returns `code`.
  int Fail(int code, std::string_view message);
  int Usage(std::string_view message) { return Fail(kExitUsage, message); }
  // Pretty JSON on stdout (2-space indent); the text copy is wiped.
  void PrintJson(const json& j);
  // printf-style output on stdout / stderr.
  void Out(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void Err(const char* format, ...) __attribute__((format(printf, 2, 3)));

 private:
  StatusOr<SecretBytes> LoadToken();

  Settings settings_;
  Console& io_;
  TransportFactory factory_;
  std::unique_ptr<Transport> transport_;
  bool have_token_ = false;
};

// Parses and runs one command line (`args` without the program name). `factory` makes the
// transport once settings are known.
int RunCli(const std::vector<std::string>& args, Console& console, TransportFactory factory);

// Shared helpers for the command files.
// Reads a stream to the end into wiped-on-free memory (at most 64 MiB).
StatusOr<SecretBytes> ReadAll(std::istream& in);
// Reads a file (binary) into wiped-on-free memory; errors name the flag and the OS reason.
StatusOr<SecretBytes> ReadFileSecret(const std::string& path, std::string_view flag);
// "90", "90s", "15m", "2h", "7d" -> seconds; errors name `flag`.
StatusOr<int64_t> ParseDuration(const std::string& s, std::string_view flag);
// Text of a JSON scalar for tables: strings as is, null as `null_text`.
std::string Text(const json& v, std::string_view null_text = "-");
// "/api/v1/vaults/<vault>" + suffix, the vault percent-encoded.
std::string VaultPath(const std::string& vault, std::string_view suffix = "");
std::string Enc(std::string_view s);  // percent-encoding
// `s` without leading and trailing whitespace.
std::string Trim(std::string_view s);

}  // namespace sirr::cli
