#include "http/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <map>
#include <mutex>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "base/encoding.h"
#include "crypto/crypto.h"

namespace sirr::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
static std::string_view TrimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// What the Impl needs of a connection, whatever its stream (plain or TLS).
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Start() = 0;
  // Called at shutdown: close if no request is being handled; otherwise the session closes
  // itself after writing its response.
  virtual void CloseIfIdle() = 0;
};

// An address or network (IPv4 held as IPv4-mapped IPv6) for SIRR_TRUSTED_PROXIES.
struct Network {
  std::array<unsigned char, 16> bytes{};
  int prefix = 128;

  static std::optional<std::array<unsigned char, 16>> Address(std::string_view text) {
    beast::error_code ec;
    auto a = asio::ip::make_address(std::string(text), ec);
    if (ec) return std::nullopt;
    if (a.is_v4()) return asio::ip::make_address_v6(asio::ip::v4_mapped, a.to_v4()).to_bytes();
    return a.to_v6().to_bytes();
  }
  static std::optional<Network> Parse(std::string_view text) {
    Network n;
    const size_t slash = text.find('/');
    auto addr = Address(text.substr(0, slash));
    if (!addr) return std::nullopt;
    n.bytes = *addr;
    const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
    if (slash != std::string_view::npos) {
      const std::string digits(text.substr(slash + 1));
      if (digits.empty() || digits.size() > 3 ||
          digits.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
      const int bits = std::stoi(digits);
      if (bits > (v4 ? 32 : 128)) return std::nullopt;
      n.prefix = v4 ? bits + 96 : bits;
    }
    return n;
  }
  bool Contains(const std::array<unsigned char, 16>& a) const {
    int bits = prefix;
    for (size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
      const unsigned mask = bits >= 8 ? 0xffu : (0xffu << (8 - bits)) & 0xffu;
      if ((a[i] & mask) != (bytes[i] & mask)) return false;
    }
    return true;
  }
};

class HttpServer::Impl {
 public:
  Impl(HttpOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        blocking_(static_cast<size_t>(std::max(1, options_.blocking_threads))) {
    // One io_context per thread (concurrency hint 1: no internal locking); a connection lives
    // on one of them for its whole life, so its handlers never need a strand.
    for (int i = 0; i < options_.threads; ++i) {
      iocs_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(asio::make_work_guard(*iocs_.back()));
    }
    acceptor_.emplace(*iocs_[0]);
  }

  Status Listen();
  void Accept();
  void Run();
  void Shutdown();
  uint16_t port() const { return port_; }

  void Register(const std::shared_ptr<SessionBase>& s);
  void Unregister(SessionBase* s);

  std::shared_ptr<ssl::context> Tls() {
    std::lock_guard lock(tls_mu_);
    return tls_;
  }
  std::mutex tls_mu_;
  std::shared_ptr<ssl::context> tls_;  // guarded by tls_mu_; null: plain HTTP
  std::vector<Network> proxies_;

  bool TrustedProxy(std::string_view address) const {
    auto a = Network::Address(address);
    if (!a) return false;
    for (const auto& n : proxies_)
      if (n.Contains(*a)) return true;
    return false;
  }
  // The request's client: the peer, or behind trusted proxies the nearest X-Forwarded-For
  // entry that is not a trusted proxy (the leftmost when all are).
  std::string ClientOf(const std::string& peer, std::string_view forwarded) const {
    if (proxies_.empty() || forwarded.empty() || !TrustedProxy(peer)) return peer;
    std::string client = peer;
    while (!forwarded.empty()) {
      const size_t comma = forwarded.rfind(',');
      std::string_view hop =
          comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1);
      forwarded = comma == std::string_view::npos ? "" : forwarded.substr(0, comma);
      hop = TrimOws(hop);
      if (!Network::Address(hop)) return client;  // malformed: stop at the last good hop
      client = std::string(hop);
      if (!TrustedProxy(hop)) return client;
    }
    return client;
  }

  // Declared before iocs_ so they outlive the handlers (and sessions) the io_contexts destroy.
  HttpOptions options_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> finished_{false};  // Run() has returned: the io_contexts no longer run
  std::atomic<int> connections_{0};
  // Open connections per client address. guarded by sessions_mu_
  std::map<std::string, int> per_client_;
  // Counts a new connection from `client`; false when that address is at its cap.
  bool AddClient(const std::string& client) {
    std::lock_guard lock(sessions_mu_);
    int& n = per_client_[client];
    if (n >= options_.max_connections_per_client) {
      if (n == 0) per_client_.erase(client);
      return false;
    }
    ++n;
    return true;
  }
  void RemoveClient(const std::string& client) {
    std::lock_guard lock(sessions_mu_);
    auto it = per_client_.find(client);
    if (it != per_client_.end() && --it->second <= 0) per_client_.erase(it);
  }
  std::mutex sessions_mu_;
  std::set<SessionBase*> sessions_;               // guarded by sessions_mu_
  std::vector<std::weak_ptr<SessionBase>> weak_;  // guarded by sessions_mu_

  // Requests the options call blocking (durable writes, slow crypto) run here, so that the
  // io threads keep serving other connections meanwhile and concurrent writers can share
  // one commit.
  asio::thread_pool blocking_;
  std::vector<std::unique_ptr<asio::io_context>> iocs_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  size_t next_ioc_ = 0;                            // used on iocs_[0] only
  std::optional<tcp::acceptor> acceptor_;          // used on iocs_[0] only
  std::optional<asio::steady_timer> drain_timer_;  // used on iocs_[0] only
  uint16_t port_ = 0;

  // Lets each io_context return from run() once it has no more work.
  void ReleaseWorkGuards() {
    for (auto& g : guards_) g.reset();
  }
};

template <class Stream>
class Session : public SessionBase {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(tcp::socket socket, HttpServer::Impl& server, bool reject,
          std::shared_ptr<ssl::context> tls)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        server_(server),
        reject_(reject) {
    beast::error_code ec;
    auto ep = Lowest().socket().remote_endpoint(ec);
    client_ = ec ? "unknown" : ep.address().to_string();
    counted_ = !reject_ && server_.AddClient(client_);
  }
  ~Session() override {
    if (counted_) server_.RemoveClient(client_);
    server_.connections_.fetch_sub(1);
    server_.Unregister(this);
  }

  void Start() override {
    asio::dispatch(stream_.get_executor(), [self = Self()] {
      if constexpr (kTls)
        self->Handshake();
      else
        self->Admit();
    });
  }

  void CloseIfIdle() override {
    asio::post(stream_.get_executor(), [self = Self()] {
      if (!self->in_flight_) self->CloseSocket();
    });
  }

 private:
  static Stream MakeStream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls)
      return Stream(std::move(socket), *tls);
    else
      return Stream(std::move(socket));
  }
  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // Over the connection caps: an error response, then close. Else the first request.
  void Admit() {
    if (reject_) {
      WriteError(503, "too many connections", false);
    } else if (!counted_) {
      WriteError(429, "too many connections from this address", false, "1");
    } else {
      Read(true);
    }
  }

  // TLS: the first bytes must open a handshake (a TLS record of type 22); anything else is
  // answered in plain text, since the client is evidently not speaking TLS.
  void Handshake() {
    Lowest().expires_after(server_.options_.request_timeout);
    Lowest().async_read_some(
        buffer_.prepare(4096), [self = Self()](beast::error_code ec, size_t n) {
          if (ec) return self->CloseSocket();
          self->buffer_.commit(n);
          if (static_cast<const unsigned char*>(self->buffer_.cdata().data())[0] != 0x16)
            return self->RefusePlainHttp();
          if constexpr (kTls) {
            self->stream_.async_handshake(ssl::stream_base::server, self->buffer_.data(),
                                          [self](beast::error_code ec, size_t used) {
                                            // A failed handshake (wrong client certificate, no
                                            // shared suite, a scanner) has nothing to answer:
                                            // OpenSSL has sent its alert.
                                            if (ec) return self->CloseSocket();
                                            self->buffer_.consume(used);
                                            self->handshaken_ = true;
                                            self->Admit();
                                          });
          }
        });
  }

  void RefusePlainHttp() {
    in_flight_ = true;
    static const std::string kBody = "this port speaks TLS: use https://\n";
    auto msg = std::make_shared<std::string>(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        "Content-Length: " +
        std::to_string(kBody.size()) + "\r\n\r\n" + kBody);
    asio::async_write(Lowest(), asio::buffer(*msg),
                      [self = Self(), msg](beast::error_code, size_t) { self->CloseSocket(); });
  }

 private:
  // Reads the next request. On a kept-alive connection with nothing buffered, first waits (up
  // to the idle timeout) for the request's first byte; from that byte on, the whole request
  // (header and body) must arrive within the request timeout, as on a new connection.
  void Read(bool first) {
    if (!first && buffer_.size() == 0) {
      Lowest().expires_after(server_.options_.idle_timeout);
      stream_.async_read_some(buffer_.prepare(4096),
                              [self = Self()](beast::error_code ec, size_t n) {
                                if (ec) return self->Close();
                                self->buffer_.commit(n);
                                self->Read(true);
                              });
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options_.max_header_bytes));
    parser_->body_limit(server_.options_.max_body_bytes);
    Lowest().expires_after(server_.options_.request_timeout);
    ReadHeaderBytes();
  }

  // Reads until the buffer holds the whole header (or the header limit), then checks the raw
  // bytes for obs-fold (RFC 9112 §5.2: a line starting with SP/HTAB continues the previous
  // one), which Beast would otherwise unfold silently; then parses the header.
  void ReadHeaderBytes() {
    auto data = buffer_.cdata();
    std::string_view raw(static_cast<const char*>(data.data()), data.size());
    // A TLS handshake record on the plain port: answer at once (the client reports a protocol
    // error) rather than wait for a header that never comes.
    if (!kTls && !raw.empty() && raw[0] == 0x16)
      return WriteError(400, "this port speaks plain HTTP, not TLS: use http://", false);
    size_t end = raw.find("\r\n\r\n");
    if (end == std::string_view::npos && raw.size() < server_.options_.max_header_bytes) {
      stream_.async_read_some(buffer_.prepare(4096),
                              [self = Self()](beast::error_code ec, size_t n) {
                                if (self->ReadFailed(ec)) return;
                                self->buffer_.commit(n);
                                self->ReadHeaderBytes();
                              });
      return;
    }
    std::string_view header = raw.substr(0, end == std::string_view::npos ? raw.size() : end + 2);
    for (size_t at = header.find("\r\n"); at != std::string_view::npos;
         at = header.find("\r\n", at + 2))
      if (at > 0 && at + 2 < header.size() && (header[at + 2] == ' ' || header[at + 2] == '\t'))
        return WriteError(400, "folded header line (obs-fold)", false);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = Self()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  bool ReadFailed(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == asio::error::bad_descriptor) {
      Close();
      return true;
    }
    if (ec == bhttp::error::body_limit) {
      WriteError(413, "request body too large", false);
      return true;
    }
    if (ec == bhttp::error::header_limit) {
      WriteError(431, "request headers too large", false);
      return true;
    }
    if (ec) {
      WriteError(400, "malformed HTTP request", false);
      return true;
    }
    return false;
  }

  // RFC 9112: what the header says about framing must be unambiguous before any body is read.
  // Returns the reason a request is refused, or null.
  const char* FramingProblem() {
    const auto& msg = parser_->get();
    int hosts = 0, encodings = 0;
    bool content_length = false;
    std::string_view encoding;
    for (const auto& field : msg) {
      std::string_view value = field.value();
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        return "folded or malformed header line";
      if (beast::iequals(field.name_string(), "host")) ++hosts;
      if (field.name() == bhttp::field::transfer_encoding) ++encodings, encoding = value;
      if (field.name() == bhttp::field::content_length) content_length = true;
    }
    if (msg.version() >= 11 && hosts != 1) return "a request must carry exactly one Host header";
    if (msg.version() < 11 && hosts > 1) return "a request must carry at most one Host header";
    if (encodings > 0) {
      if (encodings > 1 || !beast::iequals(TrimOws(encoding), "chunked"))
        return "unsupported Transfer-Encoding (only chunked is accepted)";
      if (content_length) return "Transfer-Encoding and Content-Length together";
      if (msg.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
    }
    return nullptr;
  }

  void OnHeader(beast::error_code ec) {
    if (ReadFailed(ec)) return;
    if (const char* problem = FramingProblem()) return WriteError(400, problem, false);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = Self()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ReadFailed(ec)) return;

    in_flight_ = true;
    start_ = std::chrono::steady_clock::now();
    if (server_.options_.in_flight) server_.options_.in_flight->Add(1);
    auto& msg = parser_->get();
    api::Request req;
    req.method = std::string(msg.method_string());
    method_ = req.method;
    req.target = std::string(msg.target());
    req.client = client_;
    req.request_id = NewRequestId();
    req.headers.reserve(static_cast<size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    if (!server_.proxies_.empty()) {
      std::string forwarded;  // repeated X-Forwarded-For lines form one list
      for (const auto& [k, v] : req.headers)
        if (k == "x-forwarded-for") forwarded += (forwarded.empty() ? "" : ",") + v;
      req.client = server_.ClientOf(client_, forwarded);
    }
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_ = msg.method() == bhttp::verb::head;
    SecureWipe(msg.body().data(), msg.body().size());
    parser_.reset();

    if (server_.options_.blocking && server_.options_.blocking(req.method, req.target)) {
      asio::post(server_.blocking_, [self = Self(), req = std::move(req)]() mutable {
        // Held until the io thread writes it; wiped even if that never happens (shutdown).
        std::shared_ptr<api::Response> resp(new api::Response(self->Handle(req)),
                                            [](api::Response* r) {
                                              SecureWipe(r->body.data(), r->body.size());
                                              delete r;
                                            });
        asio::post(self->stream_.get_executor(),
                   [self, id = std::move(req.request_id), resp = std::move(resp)] {
                     self->Respond(id, std::move(*resp));
                   });
      });
      return;
    }
    api::Response resp = Handle(req);
    Respond(req.request_id, std::move(resp));
  }

  // Runs the handler (on an io thread or the blocking pool) and wipes what may be secret.
  api::Response Handle(api::Request& req) {
    api::Response resp = server_.handler_(req);
    SecureWipe(req.body.data(), req.body.size());
    for (auto& [k, v] : req.headers)
      if (k == "authorization") SecureWipe(v.data(), v.size());
    return resp;
  }

  void Respond(const std::string& request_id, api::Response resp) {
    if (server_.options_.in_flight) server_.options_.in_flight->Add(-1);
    if (server_.options_.observer)
      server_.options_.observer({request_id, method_, resp.route, resp.principal, client_,
                                 resp.status, std::chrono::steady_clock::now() - start_});
    res_.emplace();
    res_->version(version_);
    res_->result(static_cast<unsigned>(resp.status));
    for (auto& [k, v] : resp.headers) {
      // Never split a header (response splitting): values with CR, LF or NUL are dropped.
      if (v.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) continue;
      res_->set(k, v);
    }
    res_->set("X-Request-Id", request_id);
    res_->keep_alive(keep_alive_ && !server_.stopping_.load());
    if (head_) {
      // HEAD: headers only; Content-Length describes what a GET would have returned.
      res_->content_length(resp.body.size());
      SecureWipe(resp.body.data(), resp.body.size());
    } else {
      res_->body() = std::move(resp.body);
      res_->prepare_payload();
    }
    Write(head_);
  }

  void Write(bool head) {
    Lowest().expires_after(server_.options_.request_timeout);
    if (head) {
      auto sr = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*res_);
      bhttp::async_write_header(
          stream_, *sr, [self = Self(), sr](beast::error_code ec, size_t) { self->OnWrite(ec); });
      return;
    }
    bhttp::async_write(stream_, *res_,
                       [self = Self()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    const bool keep = res_->keep_alive();
    SecureWipe(res_->body().data(), res_->body().size());
    res_.reset();
    in_flight_ = false;
    method_.clear();
    if (ec || !keep || server_.stopping_.load()) return Close();
    Read(false);
  }

  void WriteError(int status, const char* message, bool keep_alive,
                  const char* retry_after = nullptr) {
    in_flight_ = true;
    res_.emplace();
    res_->version(11);
    res_->result(static_cast<unsigned>(status));
    res_->set(bhttp::field::content_type, "application/json");
    if (retry_after) res_->set(bhttp::field::retry_after, retry_after);
    const std::string id = NewRequestId();
    res_->set("X-Request-Id", id);
    if (server_.options_.observer)
      server_.options_.observer(
          {id, method_, "", "", client_, status, std::chrono::steady_clock::duration{}});
    res_->body() = std::string("{\"message\":\"") + message + "\"}";
    res_->keep_alive(keep_alive);
    res_->prepare_payload();
    Write(false);
  }

  // TLS: close_notify first (bounded by a short deadline), then the socket.
  void Close() {
    if constexpr (kTls) {
      if (handshaken_ && !closing_) {
        closing_ = true;
        Lowest().expires_after(std::chrono::seconds(2));
        stream_.async_shutdown([self = Self()](beast::error_code) { self->CloseSocket(); });
        return;
      }
    }
    CloseSocket();
  }

  void CloseSocket() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    Lowest().close();
  }

  // Unique, not secret: a random per-thread prefix and a counter (no CSPRNG call per request).
  static std::string NewRequestId() {
    thread_local uint8_t b[12] = {};
    thread_local bool seeded = false;
    if (!seeded) {
      crypto::SecureRandom::Get().Fill(std::span<uint8_t>(b, 8));
      seeded = true;
    }
    for (int i = 11; i >= 8 && ++b[i] == 0; --i) {
    }
    return HexEncode(b);
  }

  std::shared_ptr<ssl::context> tls_;  // kept alive for stream_ (a reload swaps the server's)
  Stream stream_;
  HttpServer::Impl& server_;
  const bool reject_;
  std::string client_;
  bool counted_ = false;  // counted in the per-client connections (below the cap)
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  bool in_flight_ = false;
  std::chrono::steady_clock::time_point start_;  // of the request in flight
  std::string method_;                           // of the request in flight
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
  bool handshaken_ = false;
  bool closing_ = false;
};

Status HttpServer::Impl::Listen() {
  beast::error_code ec;
  auto addr = asio::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgumentError("invalid listen address '" + options_.host + "'");
  tcp::endpoint ep(addr, options_.port);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return UnavailableError("cannot listen on " + options_.host + ":" +
                            std::to_string(options_.port) + ": " + ec.message());
  port_ = acceptor_->local_endpoint().port();
  return OkStatus();
}

void HttpServer::Impl::Accept() {
  // Connections are spread round-robin over the io_contexts.
  auto& ioc = *iocs_[next_ioc_];
  next_ioc_ = (next_ioc_ + 1) % iocs_.size();
  acceptor_->async_accept(ioc, [this](beast::error_code ec, tcp::socket socket) {
    if (stopping_.load()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      const bool reject = connections_.fetch_add(1) >= options_.max_connections;
      std::shared_ptr<SessionBase> session;
      if (auto tls = Tls())
        session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
            std::move(socket), *this, reject, std::move(tls));
      else
        session =
            std::make_shared<Session<beast::tcp_stream>>(std::move(socket), *this, reject, nullptr);
      Register(session);
      session->Start();
    }
    Accept();
  });
}

void HttpServer::Impl::Register(const std::shared_ptr<SessionBase>& s) {
  std::lock_guard lock(sessions_mu_);
  sessions_.insert(s.get());
  weak_.push_back(s);
  if (weak_.size() > 2 * sessions_.size() + 64) {
    std::erase_if(weak_, [](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
  }
}

void HttpServer::Impl::Unregister(SessionBase* s) {
  std::lock_guard lock(sessions_mu_);
  sessions_.erase(s);
  if (stopping_.load() && sessions_.empty() && !finished_.load()) {
    // Last connection gone while draining: no need to wait for the deadline.
    asio::post(*iocs_[0], [this] {
      if (drain_timer_) drain_timer_->cancel();
    });
  }
}

void HttpServer::Impl::Run() {
  Accept();
  std::vector<std::thread> threads;
  for (size_t i = 1; i < iocs_.size(); ++i) threads.emplace_back([this, i] { iocs_[i]->run(); });
  iocs_[0]->run();
  for (auto& t : threads) t.join();
  // Handlers still running on the blocking pool finish before Run() returns.
  blocking_.join();
  finished_ = true;
}

void HttpServer::Impl::Shutdown() {
  if (stopping_.exchange(true)) return;
  asio::post(*iocs_[0], [this] {
    beast::error_code ec;
    acceptor_->close(ec);
    // Hard deadline: whatever has not drained by then is cut off. Either way the io_contexts
    // may run out of work from then on.
    drain_timer_.emplace(*iocs_[0], options_.drain_timeout);
    drain_timer_->async_wait([this](beast::error_code ec) {
      if (!ec)
        for (auto& ioc : iocs_) ioc->stop();
      ReleaseWorkGuards();
    });
    std::lock_guard lock(sessions_mu_);
    if (sessions_.empty()) drain_timer_->cancel();
  });
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& w : weak_)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->CloseIfIdle();
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::New(HttpOptions options, Handler handler) {
  if (options.threads < 1) options.threads = 1;
  std::vector<Network> proxies;
  for (const auto& p : options.trusted_proxies) {
    auto n = Network::Parse(p);
    if (!n)
      return InvalidArgumentError("SIRR_TRUSTED_PROXIES: '" + p +
                                  "' is not an IP address or network (a.b.c.d/n)");
    proxies.push_back(*n);
  }
  auto tls = options.tls;
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  impl->tls_ = std::move(tls);
  impl->proxies_ = std::move(proxies);
  SIRR_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Run() { impl_->Run(); }
void HttpServer::Shutdown() { impl_->Shutdown(); }
void HttpServer::SetTlsContext(std::shared_ptr<boost::asio::ssl::context> tls) {
  std::lock_guard lock(impl_->tls_mu_);
  impl_->tls_ = std::move(tls);
}

}  // namespace sirr::http
