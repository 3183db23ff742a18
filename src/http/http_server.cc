#include "http/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
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
using tcp = asio::ip::tcp;

class Session;

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

  void Register(const std::shared_ptr<Session>& s);
  void Unregister(Session* s);

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
  std::set<Session*> sessions_;               // guarded by sessions_mu_
  std::vector<std::weak_ptr<Session>> weak_;  // guarded by sessions_mu_

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

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server, bool reject)
      : stream_(std::move(socket)), server_(server), reject_(reject) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    client_ = ec ? "unknown" : ep.address().to_string();
    counted_ = !reject_ && server_.AddClient(client_);
  }
  ~Session() {
    if (counted_) server_.RemoveClient(client_);
    server_.connections_.fetch_sub(1);
    server_.Unregister(this);
  }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reject_) {
        self->WriteError(503, "too many connections", false);
      } else if (!self->counted_) {
        self->WriteError(429, "too many connections from this address", false, "1");
      } else {
        self->Read(true);
      }
    });
  }

  // Called at shutdown: close if no request is being handled; otherwise the session closes
  // itself after writing its response.
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->in_flight_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  // Reads the next request. On a kept-alive connection with nothing buffered, first waits (up
  // to the idle timeout) for the request's first byte; from that byte on, the whole request
  // (header and body) must arrive within the request timeout, as on a new connection.
  void Read(bool first) {
    if (!first && buffer_.size() == 0) {
      stream_.expires_after(server_.options_.idle_timeout);
      stream_.async_read_some(buffer_.prepare(4096),
                              [self = shared_from_this()](beast::error_code ec, size_t n) {
                                if (ec) return self->Close();
                                self->buffer_.commit(n);
                                self->Read(true);
                              });
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options_.max_header_bytes));
    parser_->body_limit(server_.options_.max_body_bytes);
    stream_.expires_after(server_.options_.request_timeout);
    ReadHeaderBytes();
  }

  // Reads until the buffer holds the whole header (or the header limit), then checks the raw
  // bytes for obs-fold (RFC 9112 §5.2: a line starting with SP/HTAB continues the previous
  // one), which Beast would otherwise unfold silently; then parses the header.
  void ReadHeaderBytes() {
    auto data = buffer_.cdata();
    std::string_view raw(static_cast<const char*>(data.data()), data.size());
    size_t end = raw.find("\r\n\r\n");
    if (end == std::string_view::npos && raw.size() < server_.options_.max_header_bytes) {
      stream_.async_read_some(buffer_.prepare(4096),
                              [self = shared_from_this()](beast::error_code ec, size_t n) {
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
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
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
      auto trimmed = encoding;
      while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t'))
        trimmed.remove_prefix(1);
      while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\t'))
        trimmed.remove_suffix(1);
      if (encodings > 1 || !beast::iequals(trimmed, "chunked"))
        return "unsupported Transfer-Encoding (only chunked is accepted)";
      if (content_length) return "Transfer-Encoding and Content-Length together";
      if (msg.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
    }
    return nullptr;
  }

  void OnHeader(beast::error_code ec) {
    if (ReadFailed(ec)) return;
    if (const char* problem = FramingProblem()) return WriteError(400, problem, false);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ReadFailed(ec)) return;

    in_flight_ = true;
    auto& msg = parser_->get();
    api::Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.client = client_;
    req.request_id = NewRequestId();
    req.headers.reserve(static_cast<size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_ = msg.method() == bhttp::verb::head;
    SecureWipe(msg.body().data(), msg.body().size());
    parser_.reset();

    if (server_.options_.blocking && server_.options_.blocking(req.method, req.target)) {
      asio::post(server_.blocking_, [self = shared_from_this(), req = std::move(req)]() mutable {
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
    stream_.expires_after(server_.options_.request_timeout);
    if (head) {
      auto sr = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*res_);
      bhttp::async_write_header(
          stream_, *sr,
          [self = shared_from_this(), sr](beast::error_code ec, size_t) { self->OnWrite(ec); });
      return;
    }
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->OnWrite(ec);
    });
  }

  void OnWrite(beast::error_code ec) {
    const bool keep = res_->keep_alive();
    SecureWipe(res_->body().data(), res_->body().size());
    res_.reset();
    in_flight_ = false;
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
    res_->set("X-Request-Id", NewRequestId());
    res_->body() = std::string("{\"message\":\"") + message + "\"}";
    res_->keep_alive(keep_alive);
    res_->prepare_payload();
    Write(false);
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
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

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  const bool reject_;
  std::string client_;
  bool counted_ = false;  // counted in the per-client connections (below the cap)
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  bool in_flight_ = false;
  bool keep_alive_ = false;
  bool head_ = false;
  unsigned version_ = 11;
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
      auto session = std::make_shared<Session>(std::move(socket), *this, reject);
      Register(session);
      session->Start();
    }
    Accept();
  });
}

void HttpServer::Impl::Register(const std::shared_ptr<Session>& s) {
  std::lock_guard lock(sessions_mu_);
  sessions_.insert(s.get());
  weak_.push_back(s);
  if (weak_.size() > 2 * sessions_.size() + 64) {
    std::erase_if(weak_, [](const std::weak_ptr<Session>& w) { return w.expired(); });
  }
}

void HttpServer::Impl::Unregister(Session* s) {
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
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mu_);
    for (auto& w : weak_)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live) s->CloseIfIdle();
}

StatusOr<std::unique_ptr<HttpServer>> HttpServer::New(HttpOptions options, Handler handler) {
  if (options.threads < 1) options.threads = 1;
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  SIRR_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::Run() { impl_->Run(); }
void HttpServer::Shutdown() { impl_->Shutdown(); }

}  // namespace sirr::http
