#pragma once
// `ontimed` command line (contract section 5): run, replay, check-config, due, calendar, generate.
// Each command returns the process exit code; output goes to the given streams so tests can
// run commands in-process.

#include <iosfwd>
#include <string>
#include <vector>

namespace ontime::daemon {

int RunCommandLine(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ontime::daemon
