#include "http/health_probe.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>

#include "http/tls.h"

namespace sirr::http {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

template <class Stream>
StatusOr<ProbeResult> Exchange(Stream& stream, const std::string& target) {
  bhttp::request<bhttp::empty_body> req(bhttp::verb::get, target, 11);
  req.set(bhttp::field::host, "localhost");
  req.set(bhttp::field::connection, "close");
  beast::error_code ec;
  bhttp::write(stream, req, ec);
  if (ec) return UnavailableError("cannot send the request: " + ec.message());
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res, ec);
  if (ec) return UnavailableError("no answer: " + ec.message());
  return ProbeResult{static_cast<int>(res.result_int()), res.body()};
}

}  // namespace

StatusOr<ProbeResult> ProbeHealth(const std::string& host, uint16_t port,
                                  const std::string& tls_cert_file, const std::string& query,
                                  int timeout_ms) {
  beast::error_code ec;
  auto addr = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return InvalidArgumentError("invalid address '" + host + "'");
  if (addr.is_unspecified())
    addr = addr.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                        : asio::ip::address(asio::ip::address_v6::loopback());
  const std::string target = "/health" + (query.empty() ? "" : "?" + query);
  asio::io_context ioc;
  beast::tcp_stream tcp_stream(ioc);
  tcp_stream.expires_after(std::chrono::milliseconds(timeout_ms));
  // The connect has a deadline (async, run to completion here); then socket timeouts.
  tcp_stream.async_connect(tcp::endpoint(addr, port), [&](beast::error_code c) { ec = c; });
  ioc.run();
  if (ec) return UnavailableError("cannot connect to sirrd: " + ec.message());
  tcp_stream.expires_never();
  // Receive/send timeouts on the socket bound the blocking exchange.
  const timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(tcp_stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(tcp_stream.socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (tls_cert_file.empty()) return Exchange(tcp_stream.socket(), target);

  SIRR_ASSIGN_OR_RETURN(auto chain, ReadCertificates("SIRR_TLS_CERT_FILE", tls_cert_file));
  const X509Ptr& expected = chain.front();
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);  // checked below: exactly the configured leaf
  asio::ssl::stream<tcp::socket&> tls(tcp_stream.socket(), ctx);
  tls.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return UnavailableError("TLS handshake failed: " + ec.message());
  X509Ptr presented(SSL_get1_peer_certificate(tls.native_handle()));
  if (!presented || X509_cmp(presented.get(), expected.get()) != 0)
    return UnavailableError("the server did not present the certificate in " + tls_cert_file);
  return Exchange(tls, target);
}

}  // namespace sirr::http
