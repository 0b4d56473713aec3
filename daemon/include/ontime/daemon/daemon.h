#pragma once
// The live daemon (`ontimed run`): Kafka events in, alerts, apology letters and dead letters out,
// timers on the wall clock, state on Kafka, HTTP for metrics and the dossier API, SIGHUP
// reload and systemd notifications. Everything runs on one Boost.Asio event loop on the calling
// thread, which is the only thread that touches the engine. Asio and Kafka stay in the .cc file.

#include <iosfwd>
#include <memory>
#include <string>

#include "ontime/daemon/config.h"

namespace ontime::daemon {

class Daemon {
 public:
  // `log` receives the daemon's log lines (stderr in production).
  Daemon(Config config, std::string config_path, std::ostream& log);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until SIGTERM/SIGINT (graceful: 0) or a fatal error (non-zero; 78 for bad rules).
  int Run();
  // The process ends right after this object: its largest parts (the engine's dossiers, the
  // timelines, the board's index) are left to the process's exit instead of
  // being destroyed one allocation at a time (seconds at 10 M dossiers, against systemd's
  // TimeoutStopSec). Call after Run, once, before the destructor.
  void LeaveStateToProcessExit();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ontime::daemon
