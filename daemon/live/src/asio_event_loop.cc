#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ontime/daemon/event_loop.h"

namespace ontime::daemon {
namespace {

class AsioTimer final : public Timer {
 public:
  explicit AsioTimer(boost::asio::io_context& io) : timer_(io) {}
  void Arm(std::chrono::milliseconds after, std::function<void()> fire) override {
    timer_.expires_after(after);
    timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
      if (!ec) fire();
    });
  }
  void Cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

std::unique_ptr<Timer> AsioEventLoop::CreateTimer() { return std::make_unique<AsioTimer>(io_); }

void AsioEventLoop::Post(std::function<void()> work) { boost::asio::post(io_, std::move(work)); }

}  // namespace ontime::daemon
