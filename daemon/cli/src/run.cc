#include "ontime/daemon/run.h"

#include "ontime/daemon/daemon.h"

namespace ontime::daemon {

int RunDaemon(const Config& config, const std::string& config_path, std::ostream& err) {
  Daemon daemon(config, config_path, err);
  const int code = daemon.Run();
  daemon.LeaveStateToProcessExit();  // the process ends with this function's caller
  return code;
}

}  // namespace ontime::daemon
