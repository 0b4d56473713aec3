#include "logging.h"

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

}  // namespace

Logger::Logger(std::ostream& out, std::string_view level) : out_(out) { set_level(level); }

void Logger::set_level(std::string_view level) {
  if (level == "debug") level_ = LogLevel::kDebug;
  else if (level == "warning") level_ = LogLevel::kWarning;
  else if (level == "error") level_ = LogLevel::kError;
  else level_ = LogLevel::kInfo;
}

void Logger::Log(LogLevel level, std::string_view message, Fields fields) {
  if (level < level_) return;
  std::string line(Name(level));
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

}  // namespace ontime::daemon
