#pragma once
// For the tests that run the real `ontimed` binary (check-config/run agreement, the real-broker
// integration tests): the binary as a child process, and the few helpers those tests share.

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ontime::testing {

// The build directory: ONTIME_BINARY_DIR (ctest sets it), else the test binary's parent's parent.
std::string BinaryDir();
std::string OntimedPath();  // BinaryDir()/daemon/ontimed
std::string ReadFile(const std::string& path);
// Polls `done` until it holds or `timeout` passes (the interval is pacing, not synchronisation).
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout);
// A TCP port nothing listens on right now, on 127.0.0.1.
int FreePort();

// `ontimed ARGS...` as a child process, its stdout and stderr appended to `log` (a restarted
// daemon adds to the same log); killed if still running when destroyed.
class OntimedProcess {
 public:
  OntimedProcess(const std::vector<std::string>& args, const std::string& log);
  ~OntimedProcess();
  OntimedProcess(const OntimedProcess&) = delete;
  OntimedProcess& operator=(const OntimedProcess&) = delete;

  bool Alive();
  // The exit status (128 + signal when killed), or -1 if it has not exited within `timeout`.
  int Wait(std::chrono::milliseconds timeout);
  void Signal(int signo);
  std::string Log() const { return ReadFile(log_); }
  bool Logged(std::string_view text) const { return Log().find(text) != std::string::npos; }

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_status_ = -1;
};

}  // namespace ontime::testing
