#include "ontime/daemon/notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace ontime::daemon {
namespace {

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_.empty()) {
      unsetenv(name_);
    } else {
      setenv(name_, old_.c_str(), 1);
    }
  }

 private:
  const char* name_;
  std::string old_;
};

TEST(NotifierTest, DoesNothingWithoutNotifySocket) {
  ScopedEnv socket("NOTIFY_SOCKET", nullptr);
  Notifier notifier;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_FALSE(notifier.watchdog_interval());
  notifier.Ready();
  notifier.Status("restoring");
  notifier.Stopping();
  EXPECT_EQ(notifier.last(), "");
}

// A datagram socket standing in for systemd: what the daemon sends arrives as written.
TEST(NotifierTest, SendsTheProtocolMessages) {
  std::string path = "/tmp/ontime-notify-" + std::to_string(getpid()) + ".sock";
  unlink(path.c_str());
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);

  ScopedEnv socket_env("NOTIFY_SOCKET", path.c_str());
  ScopedEnv watchdog_env("WATCHDOG_USEC", "4000000");
  ScopedEnv pid_env("WATCHDOG_PID", std::to_string(getpid()).c_str());
  Notifier notifier;
  ASSERT_TRUE(notifier.enabled());
  ASSERT_TRUE(notifier.watchdog_interval());
  EXPECT_EQ(*notifier.watchdog_interval(), std::chrono::microseconds(2000000));

  auto receive = [&] {
    char buf[512];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
  };
  notifier.Status("restoring state");
  EXPECT_EQ(receive(), "STATUS=restoring state");
  notifier.ExtendTimeout(std::chrono::microseconds(30000000));
  EXPECT_EQ(receive(), "EXTEND_TIMEOUT_USEC=30000000");
  notifier.Ready();
  EXPECT_EQ(receive(), "READY=1\nSTATUS=running");
  notifier.Reloading();
  EXPECT_EQ(receive().rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u);
  notifier.Watchdog();
  EXPECT_EQ(receive(), "WATCHDOG=1");
  notifier.Stopping();
  EXPECT_EQ(receive(), "STOPPING=1");
  close(fd);
  unlink(path.c_str());
}

}  // namespace
}  // namespace ontime::daemon
