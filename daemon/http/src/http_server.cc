#include "ontime/daemon/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <exception>
#include <list>
#include <optional>
#include <utility>

#include "ontime/daemon/address.h"

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

// "127.0.0.1:9464", "[::1]:9464", "localhost:9464", "0.0.0.0:0" (port 0: any free port). The
// same rule as http.listen in the configuration (ParseListenAddress), so what check-config
// accepts binds here unless the address is taken or not this host's.
Result<tcp::endpoint> ParseListen(std::string_view listen, bool allow_port_zero) {
  Result<HostPort> parsed = ParseListenAddress(listen, {.allow_port_zero = allow_port_zero});
  if (!parsed.ok()) return Error{"invalid_listen", parsed.error().message};
  error_code address_error;
  const asio::ip::address address = asio::ip::make_address(parsed->host, address_error);
  if (address_error) {
    return Error{"invalid_listen", "\"" + std::string(listen) + "\": " + address_error.message()};
  }
  return tcp::endpoint(address, parsed->port);
}

class Session;

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  Impl(asio::io_context& io, HttpHandler h, Limits l)
      : acceptor(io), handler(std::move(h)), limits(l) {}

  void Accept();

  tcp::acceptor acceptor;
  HttpHandler handler;
  Limits limits;
  bool stopped = false;
  uint16_t port = 0;
  std::list<std::weak_ptr<Session>> sessions;
};

namespace {

HttpResponse Plain(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// One connection: read a request, answer it, repeat while the client keeps it alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Impl> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  void Run() { Read(); }
  void Close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_->limits.max_header_bytes));
    parser_->body_limit(server_->limits.max_body_bytes);
    stream_.expires_after(server_->limits.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      const bool header = ec == http::error::header_limit;
      Respond(Plain(header ? 431 : 413,
                    header ? "request header too large\n" : "request body too large\n"),
              /*keep_alive=*/false, /*version=*/11);
      return;
    }
    if (ec) {
      Close();  // end of stream, timeout, reset or a malformed request
      return;
    }
    const http::request<http::string_body>& request = parser_->get();
    const bool keep_alive = request.keep_alive();
    HttpResponse response;
    const bool head = request.method() == http::verb::head;
    if (request.method() != http::verb::get && !head) {
      response = Plain(405, "method not allowed: only GET\n");
    } else if (request.target().empty() || request.target().front() != '/') {
      response = Plain(400, "bad request target\n");
    } else {
      auto field = [&](http::field name) {
        auto it = request.find(name);
        return it == request.end() ? std::string_view()
                                   : std::string_view(it->value().data(), it->value().size());
      };
      auto named = [&](std::string_view name) {
        auto it = request.find(beast::string_view(name.data(), name.size()));
        return it == request.end() ? std::string_view()
                                   : std::string_view(it->value().data(), it->value().size());
      };
      const HttpRequest view{std::string_view(request.target().data(), request.target().size()),
                             field(http::field::authorization), field(http::field::cookie),
                             named(kForwardedByField)};
      try {
        response = server_->handler(view);
      } catch (const std::exception& e) {
        response = Plain(500, std::string("internal error: ") + e.what() + "\n");
      }
    }
    if (response.deferred) {
      auto deferred = std::move(response.deferred);
      deferred([self = shared_from_this(), keep_alive, version = request.version(),
                head](HttpResponse later) {
        if (self->server_->stopped) {
          self->Close();
          return;
        }
        later.deferred = nullptr;
        self->Respond(std::move(later), keep_alive, version, head);
      });
      return;
    }
    Respond(std::move(response), keep_alive, request.version(), head);
  }

  void Respond(HttpResponse response, bool keep_alive, unsigned version, bool head = false) {
    response_ = {};
    response_.version(version);
    response_.result(static_cast<unsigned>(response.status));
    response_.set(http::field::server, "ontimed");
    response_.set(http::field::content_type, response.content_type);
    if (response.status == 405) response_.set(http::field::allow, "GET, HEAD");
    for (const auto& [name, value] : response.headers) response_.set(name, value);
    response_.keep_alive(keep_alive);
    const size_t length = response.body.size();
    if (!head) response_.body() = std::move(response.body);
    response_.content_length(length);
    stream_.expires_after(server_->limits.idle_timeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this(), keep_alive](error_code ec, size_t) {
                        if (ec || !keep_alive || self->server_->stopped) {
                          self->Close();
                          return;
                        }
                        self->Read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<HttpServer::Impl> server_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket socket) {
    if (self->stopped) return;
    if (!ec) {
      self->sessions.remove_if([](const std::weak_ptr<Session>& s) { return s.expired(); });
      if (self->sessions.size() >= self->limits.max_connections) {
        error_code ignored;
        socket.close(ignored);  // over the limit: refuse rather than queue
      } else {
        auto session = std::make_shared<Session>(std::move(socket), self);
        self->sessions.push_back(session);
        session->Run();
      }
    }
    self->Accept();  // transient errors (EMFILE, aborted handshakes) must not stop the server
  });
}

HttpServer::HttpServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(asio::io_context& io,
                                                      const std::string& listen,
                                                      HttpHandler handler) {
  return Start(io, listen, std::move(handler), Limits{});
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(asio::io_context& io,
                                                      const std::string& listen,
                                                      HttpHandler handler, Limits limits) {
  Result<tcp::endpoint> endpoint = ParseListen(listen, /*allow_port_zero=*/true);
  if (!endpoint.ok()) return endpoint.error();
  auto impl = std::make_shared<Impl>(io, std::move(handler), limits);
  error_code ec;
  auto fail = [&](std::string_view what) {
    return Error{"http_listen", "cannot " + std::string(what) + " " + listen + ": " + ec.message()};
  };
  impl->acceptor.open(endpoint->protocol(), ec);
  if (ec) return fail("open");
  impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set options on");
  impl->acceptor.bind(*endpoint, ec);
  if (ec) return fail("bind");
  impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  impl->port = impl->acceptor.local_endpoint(ec).port();
  if (ec) return fail("read the port of");
  impl->Accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  error_code ignored;
  impl_->acceptor.close(ignored);
  for (const std::weak_ptr<Session>& weak : impl_->sessions) {
    if (auto session = weak.lock()) session->Close();
  }
  impl_->sessions.clear();
}

}  // namespace ontime::daemon
