#pragma once

// Asynchronous HTTP/1.1 server on Boost.Beast (the only Beast user in Sirr).
//
// * A small pool of threads, each running its own io_context; each connection lives on one of
//   them (round-robin), with keep-alive. Requests that `blocking` selects (durable writes,
//   slow crypto) are handled on a separate pool of `blocking_threads` so that the io threads
//   keep serving meanwhile; the rest are handled inline on the connection's io thread.
// * Limits: request header bytes (431), body bytes (413), a deadline for each request to
//   arrive in full (from its first byte, on every request of a keep-alive connection) and for
//   idle keep-alive connections, a connection cap (503, closed) and a cap per client address
//   (429, closed).
// * Framing per RFC 9112: Transfer-Encoding other than exactly "chunked", Transfer-Encoding
//   with Content-Length, obs-fold (folded header lines), a missing or repeated Host: 400 and
//   the connection is closed (nothing after such a request is read as a request).
// * Response header values holding CR, LF or NUL are never written (defence in depth).
// * Every response carries X-Request-Id (generated per request).
// * TLS when options.tls is set (http/tls.h): the handshake must complete within the request
//   timeout; a connection whose first byte is not a TLS handshake record (plain HTTP sent to
//   the TLS port) gets a plain-text 400 saying so and is closed. SetTlsContext() replaces the
//   context for new connections; open ones keep theirs.
// * The client address of a request is the peer's, or, when the peer is one of
//   options.trusted_proxies, the nearest address in X-Forwarded-For that is not a trusted
//   proxy itself (per-address connection caps always count peers).
// * Shutdown() stops accepting, lets requests in flight finish and closes idle connections;
//   Run() returns when all connections are closed (or after the drain deadline).
// * Request bodies are wiped after handling and response bodies after writing, since they may
//   hold secret values.
//
// Thread safety: Shutdown() may be called from any thread; the handler is called concurrently
// from the io and blocking threads.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <vector>

#include "api/http_types.h"
#include "base/metrics.h"
#include "base/status.h"
#include "http/tls.h"

namespace sirr::http {

// One answered request, for metrics and the access log (no values, no raw target).
struct RequestInfo {
  std::string_view request_id;
  std::string_view method;     // "" when the request could not be parsed
  std::string_view route;      // the route template; "" when none matched or none was read
  std::string_view principal;  // "" when unauthenticated
  std::string_view client;
  int status = 0;
  std::chrono::steady_clock::duration duration{};  // from the whole request read to the answer
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 39999;  // 0: any free port
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = (1 << 20) + 64 * 1024;
  std::chrono::milliseconds request_timeout{10'000};  // to receive one whole request
  std::chrono::milliseconds idle_timeout{30'000};     // keep-alive idle
  std::chrono::milliseconds drain_timeout{10'000};    // at shutdown
  int max_connections = 1024;
  // Connections from one client address (so one client cannot hold every slot); beyond it the
  // connection gets 429 with Retry-After and is closed.
  int max_connections_per_client = 64;
  int threads = 4;
  int blocking_threads = 16;
  // TLS for every connection (null: plain HTTP).
  std::shared_ptr<boost::asio::ssl::context> tls;
  // Peers whose X-Forwarded-For is believed: addresses or networks ("10.0.0.0/8", "::1").
  std::vector<std::string> trusted_proxies;
  // Called once per answer, just before it is written, on an io thread (null: nothing).
  std::function<void(const RequestInfo&)> observer;
  // Requests being handled (incremented once read in full, decremented when answered).
  metrics::Gauge* in_flight = nullptr;
  // Which requests run on the blocking pool (null: none).
  std::function<bool(std::string_view method, std::string_view target)> blocking;
};

using Handler = std::function<api::Response(const api::Request&)>;

class HttpServer {
 public:
  // Binds and listens (so port() is known on return) but does not serve until Run().
  static StatusOr<std::unique_ptr<HttpServer>> New(HttpOptions options, Handler handler);
  ~HttpServer();

  uint16_t port() const;
  // Serves on options.threads threads (the caller's included) until Shutdown() completes.
  void Run();
  void Shutdown();
  // New TLS connections use `tls` from now on (a server started with TLS only).
  void SetTlsContext(std::shared_ptr<boost::asio::ssl::context> tls);

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sirr::http
