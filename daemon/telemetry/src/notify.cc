#include "ontime/daemon/notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>

namespace ontime::daemon {

Notifier::Notifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && *socket != '\0';
  uint64_t usec = 0;
  if (enabled_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    watchdog_ = std::chrono::microseconds(usec / 2);
  }
}

void Notifier::Send(const std::string& message) {
  if (!enabled_) return;
  last_ = message;
  sd_notify(0, message.c_str());
}

void Notifier::Ready() { Send("READY=1\nSTATUS=running"); }

void Notifier::Reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void Notifier::Stopping() { Send("STOPPING=1"); }

void Notifier::Status(std::string_view text) { Send("STATUS=" + std::string(text)); }

void Notifier::ExtendTimeout(std::chrono::microseconds usec) {
  Send("EXTEND_TIMEOUT_USEC=" + std::to_string(usec.count()));
}

void Notifier::Watchdog() { Send("WATCHDOG=1"); }

}  // namespace ontime::daemon
