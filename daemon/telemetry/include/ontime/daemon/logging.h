#pragma once
// The daemon's log: one line per meaningful happening. Under systemd, when stderr is the journal,
// entries go to journald natively with each key=value field as a journal field (DOSSIER_ID=...),
// so `journalctl DOSSIER_ID=X` works; otherwise "<level> message key=value ..." lines go to a
// stream. Levels below the configured one are dropped; a warning or error with the same message
// text prints at most once per repeat interval, the next print counting the repeats it swallowed.
// Single-threaded (the event loop).

#include <chrono>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ontime/base/clock.h"

namespace ontime::daemon {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// True when JOURNAL_STREAM names fd's device and inode ("<dev>:<ino>"), as systemd sets it for a
// unit whose stderr is connected to the journal (see sd_journal_stream_fd(3)).
bool IsJournalStream(int fd, const char* journal_stream);
// The same for stderr and the process environment.
bool StderrIsJournal();

// The journal fields of one entry: MESSAGE=, PRIORITY=, SYSLOG_IDENTIFIER=ontimed, then each
// field with its key upper-cased and anything outside [A-Z0-9_] made '_'.
std::vector<std::string> JournalFields(
    LogLevel level, std::string_view message,
    std::initializer_list<std::pair<std::string_view, std::string>> fields);

// A duration as a log field's value: seconds with milliseconds, "1.234".
std::string LogSeconds(std::chrono::steady_clock::duration d);

class Logger {
 public:
  using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;

  struct Options {
    bool journal = false;          // send to journald instead of the stream
    const Clock* clock = nullptr;  // monotonic reads for rate limiting; nullptr: steady_clock
    std::chrono::seconds repeat_interval{10};
    // Each stream line begins with its UTC instant (journald stamps its own entries).
    bool timestamps = false;
  };

  // A logger on std::cerr goes to the journal when stderr is connected to it, and otherwise
  // stamps each line with its instant.
  Logger(std::ostream& out, std::string_view level);
  Logger(std::ostream& out, std::string_view level, Options options);

  // Callers building costly fields (per-dossier debug lines) check this first.
  bool Enabled(LogLevel level) const { return level >= level_; }

  void Log(LogLevel level, std::string_view message, Fields fields = {});
  void Debug(std::string_view message, Fields fields = {}) {
    Log(LogLevel::kDebug, message, fields);
  }
  void Info(std::string_view message, Fields fields = {}) { Log(LogLevel::kInfo, message, fields); }
  void Warning(std::string_view message, Fields fields = {}) {
    Log(LogLevel::kWarning, message, fields);
  }
  void Error(std::string_view message, Fields fields = {}) {
    Log(LogLevel::kError, message, fields);
  }
  void set_level(std::string_view level);

 private:
  struct Repeats {
    std::chrono::steady_clock::time_point last_printed;
    uint64_t suppressed = 0;
  };

  std::chrono::steady_clock::time_point Monotonic() const;
  void WriteLine(LogLevel level, std::string_view message, Fields fields);
  bool WriteJournal(LogLevel level, std::string_view message, Fields fields);

  std::ostream& out_;
  Options options_;
  LogLevel level_ = LogLevel::kInfo;
  // By message text: the messages are string literals at a few dozen call sites, so this stays
  // small; per-dossier details belong in fields, never in the message.
  std::unordered_map<std::string, Repeats> repeats_;
};

}  // namespace ontime::daemon
