#include "ontime/daemon/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <string>
#include <thread>
#include <vector>

namespace ontime::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

// A server on a free loopback port, its io_context run by a thread of its own; the test thread is
// the client.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = HttpServer::Start(io_, "127.0.0.1:0", [this](const HttpRequest& request) {
      const std::string_view target = request.target;
      targets_.emplace_back(target);
      if (target == "/missing") return HttpResponse{404, "text/plain; charset=utf-8", "nope\n", {}};
      return HttpResponse{200, "text/plain; charset=utf-8", "hello " + std::string(target), {}};
    });
    ASSERT_TRUE(started.ok()) << started.error().message;
    server_ = std::move(started).value();
    ASSERT_NE(server_->port(), 0);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] { server_->Stop(); });
      thread_.join();  // run() returns once nothing is left: Stop closed everything
    }
  }

  tcp::socket Connect() {
    tcp::socket socket(client_io_);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
    return socket;
  }

  http::response<http::string_body> Exchange(tcp::socket& socket, http::verb method,
                                             const std::string& target, bool keep_alive = true) {
    http::request<http::string_body> request(method, target, 11);
    request.set(http::field::host, "127.0.0.1");
    request.keep_alive(keep_alive);
    request.prepare_payload();
    http::write(socket, request);
    http::response<http::string_body> response;
    http::read(socket, buffer_, response);
    return response;
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  beast::flat_buffer buffer_;
  std::vector<std::string> targets_;  // written on the server thread; read after join
};

TEST_F(HttpServerTest, ServesGetWithKeepAlive) {
  tcp::socket socket = Connect();
  auto first = Exchange(socket, http::verb::get, "/metrics?x=1");
  EXPECT_EQ(first.result_int(), 200u);
  EXPECT_EQ(first.body(), "hello /metrics?x=1");
  EXPECT_EQ(first[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_TRUE(first.keep_alive());
  auto second = Exchange(socket, http::verb::get, "/missing");  // same connection
  EXPECT_EQ(second.result_int(), 404u);
  EXPECT_EQ(second.body(), "nope\n");
  auto third = Exchange(socket, http::verb::get, "/last", /*keep_alive=*/false);
  EXPECT_EQ(third.body(), "hello /last");
  EXPECT_FALSE(third.keep_alive());
  // The server closes after a Connection: close exchange.
  beast::error_code ec;
  http::response<http::string_body> none;
  http::read(socket, buffer_, none, ec);
  EXPECT_TRUE(ec == http::error::end_of_stream || ec == asio::error::eof ||
              ec == asio::error::connection_reset)
      << ec.message();
  TearDown();
  EXPECT_EQ(targets_, (std::vector<std::string>{"/metrics?x=1", "/missing", "/last"}));
}

TEST_F(HttpServerTest, OnlyGetIsAllowed) {
  tcp::socket socket = Connect();
  auto response = Exchange(socket, http::verb::post, "/metrics");
  EXPECT_EQ(response.result_int(), 405u);
  EXPECT_EQ(response[http::field::allow], "GET, HEAD");
  response = Exchange(socket, http::verb::delete_, "/api/v1/dossiers/D1");
  EXPECT_EQ(response.result_int(), 405u);
  TearDown();
  EXPECT_TRUE(targets_.empty());  // the handler never saw them
}

TEST_F(HttpServerTest, OversizedRequestsAreRefused) {
  tcp::socket socket = Connect();
  http::request<http::string_body> request(http::verb::get, "/metrics", 11);
  request.set(http::field::host, "127.0.0.1");
  request.set("X-Padding", std::string(16 * 1024, 'x'));
  http::write(socket, request);
  http::response<http::string_body> response;
  http::read(socket, buffer_, response);
  EXPECT_EQ(response.result_int(), 431u);
  EXPECT_FALSE(response.keep_alive());
}

TEST_F(HttpServerTest, StopClosesIdleConnections) {
  tcp::socket socket = Connect();
  EXPECT_EQ(Exchange(socket, http::verb::get, "/a").result_int(), 200u);
  TearDown();  // joins: would hang if an idle keep-alive connection kept the io_context busy
  beast::error_code ec;
  http::response<http::string_body> none;
  http::read(socket, buffer_, none, ec);
  EXPECT_TRUE(ec) << "connection still open";
}

TEST(HttpServerStartTest, BadAddressesAreErrors) {
  asio::io_context io;
  auto handler = [](const HttpRequest&) { return HttpResponse{}; };
  for (const char* listen : {"nonsense", "127.0.0.1:", "127.0.0.1:99999", "example.com:80",
                             "[::1:80", "127.0.0.1:80x"}) {
    auto started = HttpServer::Start(io, listen, handler);
    ASSERT_FALSE(started.ok()) << listen;
    EXPECT_EQ(started.error().code, "invalid_listen") << listen;
  }
  auto first = HttpServer::Start(io, "127.0.0.1:0", handler);
  ASSERT_TRUE(first.ok());
  auto second = HttpServer::Start(io, "127.0.0.1:" + std::to_string((*first)->port()), handler);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, "http_listen");
  EXPECT_NE(second.error().message.find("bind"), std::string::npos) << second.error().message;
}

}  // namespace
}  // namespace ontime::daemon
