#include "ontime/daemon/logging.h"

#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "ontime/base/time.h"

namespace ontime::daemon {
namespace {

std::string_view Name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

// syslog(3) priorities, as journald files them.
std::string_view Priority(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "7";
    case LogLevel::kInfo: return "6";
    case LogLevel::kWarning: return "4";
    case LogLevel::kError: return "3";
  }
  return "6";
}

// Values with spaces, quotes or '=' are quoted so the line stays machine-splittable.
void AppendValue(std::string& line, std::string_view value) {
  if (!value.empty() && value.find_first_of(" \"=\t\n") == std::string_view::npos) {
    line.append(value);
    return;
  }
  line.push_back('"');
  for (char c : value) {
    if (c == '"' || c == '\\') line.push_back('\\');
    if (c == '\n') {
      line.append("\\n");
      continue;
    }
    line.push_back(c);
  }
  line.push_back('"');
}

// Journal field names are [A-Z0-9_], at most 64 long, and may not start with '_' (trusted
// fields) or a digit.
std::string JournalName(std::string_view key) {
  std::string name;
  for (char c : key) {
    if (c >= 'a' && c <= 'z')
      name.push_back(static_cast<char>(c - 'a' + 'A'));
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      name.push_back(c);
    else
      name.push_back('_');
  }
  if (name.empty() || name[0] == '_' || (name[0] >= '0' && name[0] <= '9')) {
    name =
        std::string("F").append(name);  // not insert(0, ...): GCC 12 -O3 -Wrestrict false positive
  }
  if (name.size() > 64) name.resize(64);
  return name;
}

}  // namespace

bool IsJournalStream(int fd, const char* journal_stream) {
  if (journal_stream == nullptr || *journal_stream == '\0') return false;
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  if (std::sscanf(journal_stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

bool StderrIsJournal() { return IsJournalStream(2, std::getenv("JOURNAL_STREAM")); }

std::vector<std::string> JournalFields(
    LogLevel level, std::string_view message,
    std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  std::vector<std::string> out;
  out.reserve(3 + fields.size());
  out.push_back("MESSAGE=" + std::string(message));
  out.push_back("PRIORITY=" + std::string(Priority(level)));
  out.emplace_back("SYSLOG_IDENTIFIER=ontimed");
  for (const auto& [key, value] : fields) out.push_back(JournalName(key) + "=" + value);
  return out;
}

Logger::Logger(std::ostream& out, std::string_view level)
    : Logger(out, level,
             Options{.journal = &out == &std::cerr && StderrIsJournal(),
                     .timestamps = &out == &std::cerr && !StderrIsJournal()}) {}

Logger::Logger(std::ostream& out, std::string_view level, Options options)
    : out_(out), options_(options) {
  set_level(level);
}

void Logger::set_level(std::string_view level) {
  if (level == "debug")
    level_ = LogLevel::kDebug;
  else if (level == "warning")
    level_ = LogLevel::kWarning;
  else if (level == "error")
    level_ = LogLevel::kError;
  else
    level_ = LogLevel::kInfo;
}

std::chrono::steady_clock::time_point Logger::Monotonic() const {
  return options_.clock != nullptr ? options_.clock->Monotonic() : std::chrono::steady_clock::now();
}

void Logger::Log(LogLevel level, std::string_view message, Fields fields) {
  if (level < level_) return;
  std::string repeated;
  if (level >= LogLevel::kWarning) {
    auto now = Monotonic();
    auto [it, first] = repeats_.try_emplace(std::string(message));
    Repeats& r = it->second;
    if (!first && now - r.last_printed < options_.repeat_interval) {
      ++r.suppressed;
      return;
    }
    r.last_printed = now;
    if (r.suppressed > 0) {
      repeated = std::string(message) + " (repeated " + std::to_string(r.suppressed) + " times)";
      r.suppressed = 0;
      message = repeated;
    }
  }
  if (options_.journal && WriteJournal(level, message, fields)) return;
  WriteLine(level, message, fields);
}

void Logger::WriteLine(LogLevel level, std::string_view message, Fields fields) {
  std::string line;
  if (options_.timestamps) {
    const Instant now =
        options_.clock != nullptr
            ? options_.clock->Now()
            : std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
    std::string stamp = FormatRfc3339(now, std::chrono::seconds(0));
    if (stamp.size() > 6 && stamp.compare(stamp.size() - 6, 6, "+00:00") == 0) {
      stamp.replace(stamp.size() - 6, 6, "Z");
    }
    line.append(stamp);
    line.push_back(' ');
  }
  line.append(Name(level));
  line.push_back(' ');
  line.append(message);
  for (const auto& [key, value] : fields) {
    line.push_back(' ');
    line.append(key);
    line.push_back('=');
    AppendValue(line, value);
  }
  line.push_back('\n');
  out_ << line << std::flush;
}

// False when journald refused the entry; the caller then writes the line to the stream, which
// the journal still collects.
bool Logger::WriteJournal(LogLevel level, std::string_view message, Fields fields) {
  std::vector<std::string> entry = JournalFields(level, message, fields);
  std::vector<iovec> iov(entry.size());
  for (size_t i = 0; i < entry.size(); ++i) {
    iov[i].iov_base = entry[i].data();
    iov[i].iov_len = entry[i].size();
  }
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

std::string LogSeconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace ontime::daemon
