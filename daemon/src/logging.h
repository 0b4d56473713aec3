#pragma once
// The daemon's log: one line per meaningful happening, "<level> message key=value ...", to a
// stream (stderr, which journald collects). Levels below the configured one are dropped.
// Single-threaded (the event loop).

#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace ontime::daemon {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

class Logger {
 public:
  using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;

  Logger(std::ostream& out, std::string_view level);

  void Log(LogLevel level, std::string_view message, Fields fields = {});
  void Debug(std::string_view message, Fields fields = {}) {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(std::string_view message, Fields fields = {}) {
    Log(LogLevel::kInfo, message, fields);
  }
  void Warning(std::string_view message, Fields fields = {}) {
    Log(LogLevel::kWarning, message, fields);
  }
  void Error(std::string_view message, Fields fields = {}) {
    Log(LogLevel::kError, message, fields);
  }
  void set_level(std::string_view level);

 private:
  std::ostream& out_;
  LogLevel level_ = LogLevel::kInfo;
};

}  // namespace ontime::daemon
