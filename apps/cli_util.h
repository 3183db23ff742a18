#pragma once

// Helpers shared by the sirr CLI's translation units (sirr.cc, sirr_keys.cc).

#include <cstdio>
#include <functional>
#include <istream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/encoding.h"
#include "base/secret_bytes.h"
#include "base/status.h"
#include "client/client.h"

namespace sirr_cli {

using nlohmann::json;
using sirr::SecretBytes;

inline constexpr int kExitRefused = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitServer = 3;

inline int Usage(const std::string& msg) {
  std::fprintf(stderr, "sirr: %s\n", msg.c_str());
  return kExitUsage;
}

inline std::string ServerMessage(const sirr::client::HttpResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("message") && j["message"].is_string()) return j["message"];
    if (j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
        j["errors"][0].contains("message"))
      return j["errors"][0]["message"];
  }
  return "HTTP " + std::to_string(r.status);
}

// Prints the server's error and returns the exit code for a non-2xx response.
inline int Refused(const sirr::client::HttpResponse& r) {
  std::fprintf(stderr, "sirr: %s\n", ServerMessage(r).c_str());
  return r.status >= 500 ? kExitServer : kExitRefused;
}

// Reads a stream to the end into wiped-on-free memory (at most 64 MiB).
inline sirr::StatusOr<SecretBytes> ReadAll(std::istream& in) {
  SecretBytes out;
  char buf[65536];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.Append(sirr::AsBytes(std::string_view(buf, static_cast<size_t>(in.gcount()))));
    if (out.size() > (64u << 20)) return sirr::TooLargeError("value is larger than 64 MiB");
  }
  sirr::SecureWipe(buf, sizeof(buf));
  return out;
}

inline std::string OrDash(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// Sends a request and checks the status: nullopt on success (the response in *out), else the
// exit code after printing the error.
using Expect =
    std::function<std::optional<int>(const std::string& method, const std::string& path, int want,
                                     sirr::client::HttpResponse* out, const std::string& body)>;
// Every page of a listing route into *all; `query` is extra "&k=v" parameters.
using FetchAll =
    std::function<std::optional<int>(const std::string& path, const std::string& query, json* all)>;

}  // namespace sirr_cli
