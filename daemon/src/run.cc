#include "ontime/daemon/run.h"

#include <ostream>

namespace ontime::daemon {

// Replaced by the live daemon (issue 3).
int RunDaemon(const Config&, const std::string&, std::ostream& err) {
  err << "ontimed run: the live daemon is not built yet\n";
  return 1;
}

}  // namespace ontime::daemon
