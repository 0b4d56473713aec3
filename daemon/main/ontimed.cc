// ontimed: the real-time SLA monitor for administrative-procedure dossiers.
#include <iostream>
#include <string>
#include <vector>

#include "ontime/daemon/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv, argv + argc);
  return ontime::daemon::RunCommandLine(args, std::cout, std::cerr);
}
