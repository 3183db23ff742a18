#pragma once

// A small blocking HTTP client (libcurl) for the CLI and integration tests.
// The bearer token and response bodies may be secret: they are wiped when the objects die.
// Thread safety: one Client per thread.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/secret_bytes.h"
#include "base/status.h"

namespace sirr::client {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  ~HttpResponse();
  HttpResponse() = default;
  HttpResponse(HttpResponse&&) = default;
  HttpResponse& operator=(HttpResponse&&) = default;
};

class Client {
 public:
  // `server` like "http://127.0.0.1:39999"; `token` may be empty.
  Client(std::string server, SecretBytes token);
  ~Client();

  // Trust this CA certificate file (PEM) for https:// servers instead of the system store.
  void SetCaFile(std::string path) { ca_file_ = std::move(path); }
  // Present this client certificate and key (PEM files) for mutual TLS; empty: none.
  void SetClientCertificate(std::string cert_file, std::string key_file) {
    client_cert_ = std::move(cert_file);
    client_key_ = std::move(key_file);
  }

  // Unavailable when the server cannot be reached.
  StatusOr<HttpResponse> Do(const std::string& method, const std::string& path,
                            const std::string& body = "");

  static std::string UrlEncode(std::string_view s);

 private:
  Status TransferError(int curl_code, const char* detail) const;
  struct CurlDeleter {
    void operator()(void* curl) const;  // curl_easy_cleanup
  };
  std::string server_;
  SecretBytes token_;
  std::string ca_file_;
  std::string client_cert_, client_key_;
  std::unique_ptr<void, CurlDeleter> curl_;  // a CURL easy handle
};

}  // namespace sirr::client
