#include "client/client.h"

#include <curl/curl.h>

#include <cctype>
#include <cstring>

namespace sirr::client {
namespace {

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
    (*static_cast<std::map<std::string, std::string>*>(user))[name] = std::string(value);
  }
  return size * n;
}

}  // namespace

HttpResponse::~HttpResponse() { SecureWipe(body.data(), body.size()); }

Client::Client(std::string server, SecretBytes token)
    : server_(std::move(server)), token_(std::move(token)), curl_(curl_easy_init()) {
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
}

Client::~Client() = default;

void Client::CurlDeleter::operator()(void* curl) const {
  curl_easy_cleanup(static_cast<CURL*>(curl));
}

std::string Client::UrlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// What went wrong, in the terms of what the user can change.
Status Client::TransferError(int code, const char* detail) const {
  const auto rc = static_cast<CURLcode>(code);
  const std::string why = detail[0] ? detail : curl_easy_strerror(rc);
  if (rc == CURLE_PEER_FAILED_VERIFICATION)
    return UnavailableError("the TLS certificate of " + server_ + " is not trusted (" + why +
                            "): give its CA certificate with --ca-cert or SIRR_CACERT");
  if (rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CACERT_BADFILE)
    return UnavailableError("cannot use the TLS certificate files given: " + why);
  if (rc == CURLE_SSL_CONNECT_ERROR && why.find("wrong version number") != std::string::npos)
    return UnavailableError(server_ + " does not speak TLS on that port (" + why +
                            "): use an http:// URL, or enable TLS on the server");
  const bool tls = server_.starts_with("https://");
  if (rc == CURLE_SSL_CONNECT_ERROR ||
      (tls && (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR || rc == CURLE_GOT_NOTHING)))
    return UnavailableError("TLS connection to " + server_ + " failed (" + why +
                            "); if the server requires a client certificate, give "
                            "--client-cert and --client-key");
  return UnavailableError("cannot reach " + server_ + ": " + why);
}

StatusOr<HttpResponse> Client::Do(const std::string& method, const std::string& path,
                                  const std::string& body) {
  CURL* c = static_cast<CURL*>(curl_.get());
  if (!c) return InternalError("libcurl failed to initialise");
  curl_easy_reset(c);
  HttpResponse resp;
  std::string url = server_ + path;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp.headers);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 60000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (!ca_file_.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file_.c_str());
  if (!client_cert_.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, client_cert_.c_str());
    curl_easy_setopt(c, CURLOPT_SSLKEY, client_key_.c_str());
  }
  char detail[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
  struct curl_slist* headers = nullptr;
  SecretBytes auth = SecretBytes::FromString("Authorization: Bearer ");
  auth.Append(token_.reveal());
  auth.Append(AsBytes(std::string_view("\0", 1)));
  if (!token_.empty())
    headers = curl_slist_append(headers, reinterpret_cast<const char*>(auth.reveal().data()));
  if (!body.empty() || method == "POST" || method == "PUT") {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(c);
  if (headers) {
    // Wipe curl's copy of the Authorization header before freeing it.
    for (auto* h = headers; h; h = h->next) SecureWipe(h->data, std::strlen(h->data));
    curl_slist_free_all(headers);
  }
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);  // `detail` dies with this call
  if (rc != CURLE_OK) return TransferError(rc, detail);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  resp.status = static_cast<int>(status);
  return resp;
}

}  // namespace sirr::client
