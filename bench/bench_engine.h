#pragma once
// Pieces the engine benchmarks share: the configuration they run on, and a listener that formats
// every alert and apology letter into one reused string, as the daemon does before producing it.

#include <cstdio>
#include <optional>
#include <string>

#include "bench_util.h"
#include "ontime/daemon/config.h"
#include "ontime/rules/engine.h"
#include "ontime/streams/json_output.h"

namespace ontime::bench {

// --config YAML, by default the example province. Prints every error; nullopt when invalid.
inline std::optional<daemon::Config> LoadBenchConfig(const Flags& flags) {
  const std::string path =
      flags.Get("--config", std::string(ONTIME_SOURCE_DIR) + "/deploy/examples/province.yaml");
  daemon::ConfigResult config = daemon::LoadConfigFile(path);
  if (!config.ok()) {
    for (const auto& e : config.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
    return std::nullopt;
  }
  return std::move(config.config);
}

// Counts alerts (by kind) and letters; with `format`, also renders each as a JSON line.
class EmitListener final : public rules::EngineListener {
 public:
  EmitListener(const rules::BusinessCalendar& calendar, bool format)
      : calendar_(calendar), format_(format) {}
  void OnAlert(const rules::Alert& alert) override {
    ++alerts_[static_cast<int>(alert.kind)];
    if (!format_) return;
    line_.clear();
    streams::AppendAlertJson(line_, alert, calendar_);
    Count();
  }
  void OnApologyLetter(const rules::ApologyLetter& letter) override {
    ++letters_;
    if (!format_) return;
    line_.clear();
    streams::AppendLetterJson(line_, letter, calendar_);
    Count();
  }
  size_t alerts(rules::AlertKind kind) const { return alerts_[static_cast<int>(kind)]; }
  size_t alerts() const {
    size_t total = 0;
    for (size_t n : alerts_) total += n;
    return total;
  }
  size_t letters() const { return letters_; }
  size_t bytes() const { return bytes_; }

 private:
  void Count() {
    line_.push_back('\n');
    bytes_ += line_.size();
  }

  const rules::BusinessCalendar& calendar_;
  bool format_;
  std::string line_;
  size_t alerts_[rules::kAlertKindCount] = {};
  size_t letters_ = 0;
  size_t bytes_ = 0;
};

}  // namespace ontime::bench
