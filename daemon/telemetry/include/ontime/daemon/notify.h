#pragma once
// systemd's notification protocol (sd_notify): READY, RELOADING, STOPPING, STATUS, watchdog
// keep-alives and start-up time extensions. Does nothing when NOTIFY_SOCKET is unset (not run by
// systemd, or Type=simple). Called on the event-loop thread, so a stuck loop stops the watchdog.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ontime::daemon {

class Notifier {
 public:
  Notifier();

  bool enabled() const { return enabled_; }
  // Half of WATCHDOG_USEC when systemd expects keep-alives for this process; else nullopt.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  void Ready();
  void Reloading();  // RELOADING=1 with MONOTONIC_USEC= (Type=notify-reload)
  void Stopping();
  void Status(std::string_view text);
  void ExtendTimeout(std::chrono::microseconds usec);
  void Watchdog();

  // The last message sent (for tests); empty when disabled.
  const std::string& last() const { return last_; }

 private:
  void Send(const std::string& message);

  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
  std::string last_;
};

}  // namespace ontime::daemon
