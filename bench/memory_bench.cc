// Memory per open dossier: N dossiers (default 1,000,000) accepted and left open, realistic ids
// ("H12.22-260302-000001"), the province's procedure mix (a mild Zipf law over the configured
// procedures, as testdata::GenerateEvents draws them), measured without and with applicant objects,
// each in a fresh child process so that one run's freed memory does not hide the other's growth.
//
//   memory_bench [--dossiers N] [--config YAML] [--mode both|without|with]
//
// Reports VmRSS and VmHWM growth (/proc/self/status) and glibc's heap bytes in use (mallinfo2)
// divided by the number of dossiers. Events go straight to Engine::Apply (no JSON) so that no
// decoder or input buffer is counted.

#include <malloc.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iterator>
#include <string>
#include <vector>

#include "bench_engine.h"
#include "bench_util.h"
#include "ontime/daemon/config.h"
#include "ontime/rules/engine.h"

namespace ontime::bench {
namespace {

constexpr const char* kFamily[] = {"Nguyễn", "Trần", "Lê",  "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ",
                                   "Võ",     "Đặng", "Bùi", "Đỗ",   "Hồ",    "Ngô",   "Dương"};
constexpr const char* kMiddle[] = {"Văn", "Thị", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Hữu"};
constexpr const char* kGiven[] = {"An",   "Bình", "Cường", "Dũng", "Hà",  "Hạnh",
                                  "Hùng", "Lan",  "Linh",  "Mai",  "Nam", "Phương",
                                  "Quân", "Sơn",  "Thảo",  "Trang"};
constexpr const char* kStreets[] = {"Lê Duẩn", "Nguyễn Tất Thành", "Phan Bội Châu",  "Hai Bà Trưng",
                                    "Y Jút",   "Trần Hưng Đạo",    "Lý Thường Kiệt", "Ngô Quyền"};
constexpr const char* kWards[] = {"phường Tân Lợi", "phường Thành Công", "phường Ea Tam",
                                  "xã Hòa Thắng",   "phường Tự An",      "xã Cư Êbur"};

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Reading {
  int64_t rss = 0;
  int64_t hwm = 0;
  int64_t heap = 0;  // glibc: bytes in use in all arenas plus mmapped chunks
};

Reading Read() {
  struct mallinfo2 mi = mallinfo2();
  return {StatusBytes("VmRSS"), StatusBytes("VmHWM"),
          static_cast<int64_t>(mi.uordblks + mi.hblkhd)};
}

int RunOne(const daemon::Config& config, int64_t count, bool with_applicant) {
  auto compiled = rules::CompiledRules::Compile(config.rules);
  if (!compiled.ok()) {
    std::fprintf(stderr, "memory_bench: %s\n", compiled.error().message.c_str());
    return 1;
  }
  const auto& procedures = config.rules.procedures;
  std::vector<double> cum;
  double total = 0;
  for (size_t i = 0; i < procedures.size(); ++i) {
    total += 1.0 / std::pow(static_cast<double>(i + 1), 0.8);
    cum.push_back(total);
  }
  rules::EngineListener listener;
  rules::Engine engine(compiled.value(), &listener);
  const Instant start = *ParseRfc3339("2026-03-02T07:30:00+07:00");
  {
    // Warms the engine's one-off allocations (per-department counters and the like).
    rules::Event warm;
    warm.event_id = "H12.22-260301-000000-2";
    warm.dossier_id = "H12.22-260301-000000";
    warm.type = rules::EventType::kAccepted;
    warm.type_name = "accepted";
    warm.occurred_at = start - Duration(1);
    warm.procedure = config.rules.procedures.front().code;
    engine.Apply(warm);
  }
  std::string id, event_id, name, address, phone, email;
  id.reserve(64);
  event_id.reserve(64);

  const Reading before = Read();
  Stopwatch sw;
  size_t applied = 0;
  for (int64_t i = 0; i < count; ++i) {
    uint64_t h = SplitMix(static_cast<uint64_t>(i) + 12345);
    auto pick = [&h](size_t n) {
      size_t v = static_cast<size_t>(h % n);
      h = SplitMix(h);
      return v;
    };
    // 20,000 dossiers a day over consecutive days: "H12.22-2603DD-NNNNNN".
    const int64_t day = i / 20000 + 2;
    char buf[40];
    std::snprintf(buf, sizeof buf, "H12.22-2603%02d-%06d", static_cast<int>(day % 28 + 1),
                  static_cast<int>(i % 20000 + 1 + (day / 28) * 20000));
    id.assign(buf);
    event_id.assign(id).append("-2");
    double u = static_cast<double>(pick(1 << 30)) / static_cast<double>(1 << 30) * total;
    size_t pi = static_cast<size_t>(std::upper_bound(cum.begin(), cum.end(), u) - cum.begin());
    pi = std::min(pi, procedures.size() - 1);

    rules::Event e;
    e.event_id = event_id;
    e.dossier_id = id;
    e.type = rules::EventType::kAccepted;
    e.type_name = "accepted";
    // One millisecond apart: no budget of the province expires during the run.
    e.occurred_at = start + Duration(i);
    e.procedure = procedures[pi].code;
    if (pick(100) < 85) e.department = procedures[pi].department;
    if (with_applicant) {
      name.assign(kFamily[pick(std::size(kFamily))]).append(" ");
      name.append(kMiddle[pick(std::size(kMiddle))]).append(" ");
      name.append(kGiven[pick(std::size(kGiven))]);
      address.assign("Số ").append(std::to_string(1 + pick(250))).append(" đường ");
      address.append(kStreets[pick(std::size(kStreets))]).append(", ");
      address.append(kWards[pick(std::size(kWards))]).append(", tỉnh Đắk Lắk");
      phone.assign("09").append(std::to_string(10'000'000 + pick(90'000'000)));
      email.clear();
      if (pick(10) < 3) {
        email.assign("congdan").append(std::to_string(pick(1'000'000))).append("@gmail.com");
      }
      e.applicant = rules::ApplicantView{name, address, phone, email};
    }
    if (engine.Apply(e) == rules::ApplyStatus::kApplied) ++applied;
  }
  const double seconds = sw.cpu();
  const Reading after = Read();
  const double n = static_cast<double>(count);
  const char* label = with_applicant ? "with applicant" : "without applicant";
  std::printf("%s: %zu/%lld accepted in %.2f s cpu (%.0f accepted/s), %zu tracked, %zu timers\n",
              label, applied, static_cast<long long>(count), seconds, n / seconds,
              engine.dossiers_tracked(), engine.timers_pending());
  std::printf("  VmRSS %.1f -> %.1f MiB, VmHWM %.1f -> %.1f MiB, malloc in use %.1f -> %.1f MiB\n",
              Mib(before.rss), Mib(after.rss), Mib(before.hwm), Mib(after.hwm), Mib(before.heap),
              Mib(after.heap));
  const double rss_per = static_cast<double>(after.rss - before.rss) / n;
  const double hwm_per = static_cast<double>(after.hwm - before.hwm) / n;
  const double heap_per = static_cast<double>(after.heap - before.heap) / n;
  std::printf(
      "  bytes per open dossier: RSS %.0f, peak RSS %.0f, malloc in use %.0f "
      "(goal <= 200: %s)\n",
      rss_per, hwm_per, heap_per, hwm_per <= 200 ? "met" : "not met");
  std::printf("RESULT memory_%s_peak_bytes_per_dossier %.0f\n",
              with_applicant ? "with_applicant" : "without_applicant", hwm_per);
  std::fflush(stdout);
  return 0;
}

int Main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows through `| tee`
  Flags flags(argc, argv);
  if (flags.Has("--help")) {
    std::printf("memory_bench [--dossiers N] [--config YAML] [--mode both|without|with]\n");
    return 0;
  }
  const int64_t count = flags.GetInt("--dossiers", 1'000'000);
  const std::string mode = flags.Get("--mode", "both");
  std::optional<daemon::Config> config = LoadBenchConfig(flags);
  if (!config) return 1;
  std::vector<bool> modes;
  if (mode != "with") modes.push_back(false);
  if (mode != "without") modes.push_back(true);
  std::fflush(stdout);
  int rc = 0;
  for (bool with_applicant : modes) {
    pid_t child = fork();
    if (child == 0) _exit(RunOne(*config, count, with_applicant));
    int status = 0;
    if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      rc = 1;
    }
  }
  return rc;
}

}  // namespace
}  // namespace ontime::bench

int main(int argc, char** argv) { return ontime::bench::Main(argc, argv); }
