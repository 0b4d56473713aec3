#pragma once
// A small HTTP/1.1 server for /metrics, health and the read-only dossier API. Runs on an
// io_context the caller owns and runs: single-threaded, so the handler is called on that thread
// (the engine's thread) and may read the engine directly. GET only (405 otherwise), keep-alive,
// limits on header and body size, idle connections closed after a timeout. Beast and Asio stay in
// the .cc file.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ontime/base/result.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace ontime::daemon {

struct HttpResponse;
// Answers a deferred request; call it once, on the io_context's thread. Dropped uncalled, it closes
// the connection (the request is not answered).
using HttpRespond = std::function<void(HttpResponse response)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};  // more fields, as given
  // Set by a handler that answers later (a request forwarded to another instance): the server
  // calls it with the function that sends the answer, and reads nothing more on the connection
  // until then; the rest of this response is ignored.
  std::function<void(HttpRespond respond)> deferred = {};
};

// What a handler sees of a request: the target as received ("/path?query", not decoded) and the
// fields access control reads. Views into the request: valid during the call.
struct HttpRequest {
  std::string_view target;
  std::string_view authorization;  // the Authorization field, empty when absent
  std::string_view cookie;         // the Cookie field, empty when absent
  // The X-Ontime-Forwarded-By field: the instance that forwarded this request here (never
  // forwarded again), empty when it came from a client.
  std::string_view forwarded_by = {};
};

inline constexpr std::string_view kForwardedByField = "X-Ontime-Forwarded-By";

using HttpHandler = std::function<HttpResponse(const HttpRequest& request)>;

class HttpServer {
 public:
  struct Limits {
    size_t max_header_bytes = 8 * 1024;
    size_t max_body_bytes = 64 * 1024;
    size_t max_connections = 256;
    std::chrono::seconds idle_timeout{30};
  };

  // Binds and listens now; accepting starts once the io_context runs. `listen` is "IPv4:port",
  // "[IPv6]:port" or "localhost:port" (ParseListenAddress); port 0 picks a free port (see
  // port()). Never throws: a bad address or a port in use is an Error.
  static Result<std::unique_ptr<HttpServer>> Start(boost::asio::io_context& io,
                                                   const std::string& listen, HttpHandler handler,
                                                   Limits limits);
  static Result<std::unique_ptr<HttpServer>> Start(boost::asio::io_context& io,
                                                   const std::string& listen, HttpHandler handler);

  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Whether Start() takes `listen` as an address, port 0 aside: "IPv4:port", "[IPv6]:port" or
  // "localhost:port", port 1..65535, no host names. The check of http.listen in the
  // configuration, so that an address check-config accepts is one the daemon can bind (unless
  // it is taken or not this host's).

  uint16_t port() const;
  // Closes the listening socket and every open connection. Call on the io_context's thread, or
  // while it is not running.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace ontime::daemon
