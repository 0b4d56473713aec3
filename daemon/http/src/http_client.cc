#include "ontime/daemon/http_client.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <memory>
#include <optional>

#include "ontime/daemon/address.h"

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

// One GET: resolve, connect, write, read; the first of its end or the deadline reports.
class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(asio::io_context& io, OutgoingRequest request, std::chrono::milliseconds timeout,
       std::function<void(Result<HttpResponse>)> done)
      : resolver_(io),
        stream_(io),
        deadline_(io),
        request_(std::move(request)),
        timeout_(timeout),
        done_(std::move(done)) {}

  void Run() {
    Result<HostPort> where = ParseHostPort(request_.authority);
    if (!where.ok()) {
      Finish(
          Error{"http_client_address", "\"" + request_.authority + "\": " + where.error().message});
      return;
    }
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;  // cancelled: the call ended first
      self->timed_out_ = true;
      self->resolver_.cancel();
      self->stream_.cancel();
      self->Finish(
          Error{"http_client_timeout", "no answer from " + self->request_.authority + " within " +
                                           std::to_string(self->timeout_.count()) + " ms"});
    });
    out_.version(11);
    out_.method(http::verb::get);
    out_.target(request_.target);
    out_.set(http::field::host, request_.authority);
    out_.set(http::field::user_agent, "ontimed");
    out_.set(http::field::connection, "close");
    for (const auto& [name, value] : request_.headers) out_.set(name, value);
    resolver_.async_resolve(
        where->host, std::to_string(where->port),
        [self = shared_from_this()](error_code ec, const tcp::resolver::results_type& results) {
          if (ec) return self->Fail("cannot resolve", ec);
          self->stream_.async_connect(results, [self](error_code connect_ec, const tcp::endpoint&) {
            if (connect_ec) return self->Fail("cannot connect to", connect_ec);
            self->Write();
          });
        });
  }

 private:
  void Write() {
    http::async_write(stream_, out_, [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->Fail("cannot send to", ec);
      self->parser_.emplace();
      self->parser_->body_limit(HttpClient::kMaxBodyBytes);
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](error_code read_ec, size_t) {
                         if (read_ec) return self->Fail("no answer from", read_ec);
                         self->Answered();
                       });
    });
  }

  void Answered() {
    const http::response<http::string_body>& in = parser_->get();
    HttpResponse response;
    response.status = static_cast<int>(in.result_int());
    response.body = in.body();
    for (const auto& field : in) {
      const std::string name(field.name_string());
      const std::string value(field.value());
      if (field.name() == http::field::content_type) {
        response.content_type = value;
      } else if (field.name() != http::field::content_length &&
                 field.name() != http::field::connection &&
                 field.name() != http::field::transfer_encoding &&
                 field.name() != http::field::server && field.name() != http::field::keep_alive) {
        response.headers.emplace_back(name, value);
      }
    }
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    Finish(std::move(response));
  }

  void Fail(std::string_view what, error_code ec) {
    if (timed_out_) return;  // reported by the deadline
    Finish(
        Error{"http_client", std::string(what) + " " + request_.authority + ": " + ec.message()});
  }

  void Finish(Result<HttpResponse> result) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    auto done = std::move(done_);
    done(std::move(result));
  }

  tcp::resolver resolver_;
  beast::tcp_stream stream_;
  asio::steady_timer deadline_;
  OutgoingRequest request_;
  std::chrono::milliseconds timeout_;
  std::function<void(Result<HttpResponse>)> done_;
  http::request<http::empty_body> out_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool timed_out_ = false;
  bool finished_ = false;
};

}  // namespace

HttpClient::HttpClient(asio::io_context& io, std::chrono::milliseconds timeout)
    : io_(io), timeout_(timeout) {}

void HttpClient::Get(OutgoingRequest request, std::function<void(Result<HttpResponse>)> done) {
  std::make_shared<Call>(io_, std::move(request), timeout_, std::move(done))->Run();
}

}  // namespace ontime::daemon
