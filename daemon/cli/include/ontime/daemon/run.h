#pragma once
// `ontimed run`: the live daemon (Kafka in, Kafka and Alertmanager out, HTTP).

#include <iosfwd>

#include "ontime/daemon/config.h"

namespace ontime::daemon {

// Runs until SIGTERM/SIGINT (exit 0) or a fatal error (non-zero). `config_path` is re-read on
// SIGHUP.
int RunDaemon(const Config& config, const std::string& config_path, std::ostream& err);

}  // namespace ontime::daemon
