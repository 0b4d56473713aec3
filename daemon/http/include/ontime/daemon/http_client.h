#pragma once
// A small asynchronous HTTP/1.1 client on the caller's io_context: how an instance forwards a
// request for a dossier it does not own to the instance that does. One GET per call, on its own
// connection, within a deadline (resolution, connection, request and response together); the
// answer, or why there is none, comes to `done` on the io_context's thread. Never blocks the
// loop. Beast and Asio stay in the .cc file.

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ontime/base/result.h"
#include "ontime/daemon/http_server.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace ontime::daemon {

struct OutgoingRequest {
  std::string authority;  // "host:port" or "[v6]:port"
  std::string target;     // "/path?query", sent as is
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpClient {
 public:
  static constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;
  HttpClient(boost::asio::io_context& io, std::chrono::milliseconds timeout);

  // `done` gets the response (any status: the body, Content-Type and the other fields), or an
  // Error: "http_client_address" (a bad authority), "http_client_timeout", "http_client" (refused,
  // reset, malformed).
  void Get(OutgoingRequest request, std::function<void(Result<HttpResponse>)> done);

 private:
  boost::asio::io_context& io_;
  std::chrono::milliseconds timeout_;
};

}  // namespace ontime::daemon
