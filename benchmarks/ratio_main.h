// benchmarks/ratio_main.h — a Google Benchmark main that also prints ratios between
// benchmarks of the same run, so every figure comes with a baseline measured alongside it.
//
// Example (in a benchmark .cc, instead of BENCHMARK_MAIN()):
//   MLOPS_BENCHMARK_MAIN_WITH_RATIOS({
//       {"BM_DigestOfVectorDouble/268435456", "BM_RawXXH3_128/268435456", "throughput"},
//   });
//
// A "throughput" ratio divides bytes per second (numerator / denominator: higher is
// better for the numerator); a "time" ratio divides real time per iteration (numerator /
// denominator: lower is better); an "overhead" ratio is a time ratio that also prints the
// difference (what the numerator adds to the same work done by the denominator). Ratios
// whose benchmarks were filtered out are skipped.
#ifndef MLOPS_BENCHMARKS_RATIO_MAIN_H_
#define MLOPS_BENCHMARKS_RATIO_MAIN_H_

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace mlops_bench {

struct Ratio {
  std::string numerator;
  std::string denominator;
  std::string kind;  // "throughput", "time" or "overhead"
};

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      Figures& f = figures_[run.benchmark_name()];
      f.seconds_per_iteration = run.GetAdjustedRealTime() /
                                benchmark::GetTimeUnitMultiplier(run.time_unit);
      auto it = run.counters.find("bytes_per_second");
      if (it != run.counters.end()) f.bytes_per_second = it->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void PrintRatios(const std::vector<Ratio>& ratios) {
    bool header = false;
    for (const Ratio& r : ratios) {
      auto n = figures_.find(r.numerator);
      auto d = figures_.find(r.denominator);
      if (n == figures_.end() || d == figures_.end()) continue;
      if (!header) {
        std::printf("\nRatios measured in this run:\n");
        header = true;
      }
      if (r.kind == "throughput" && d->second.bytes_per_second > 0) {
        std::printf("  %-60s %8.3fx the throughput of %s\n", r.numerator.c_str(),
                    n->second.bytes_per_second / d->second.bytes_per_second,
                    r.denominator.c_str());
      } else if (d->second.seconds_per_iteration > 0) {
        std::printf("  %-60s %8.3fx the time of %s (%.3g us vs %.3g us)\n",
                    r.numerator.c_str(),
                    n->second.seconds_per_iteration / d->second.seconds_per_iteration,
                    r.denominator.c_str(), n->second.seconds_per_iteration * 1e6,
                    d->second.seconds_per_iteration * 1e6);
        if (r.kind == "overhead") {
          std::printf("  %-60s %8.3f us added per call\n", "",
                      (n->second.seconds_per_iteration - d->second.seconds_per_iteration) *
                          1e6);
        }
      }
    }
    std::fflush(stdout);
  }

 private:
  struct Figures {
    double seconds_per_iteration = 0;
    double bytes_per_second = 0;
  };
  std::map<std::string, Figures> figures_;
};

inline int RunWithRatios(int argc, char** argv, const std::vector<Ratio>& ratios) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintRatios(ratios);
  benchmark::Shutdown();
  return 0;
}

}  // namespace mlops_bench

#define MLOPS_BENCHMARK_MAIN_WITH_RATIOS(...)                          \
  int main(int argc, char** argv) {                                    \
    return mlops_bench::RunWithRatios(argc, argv, __VA_ARGS__);         \
  }

#endif  // MLOPS_BENCHMARKS_RATIO_MAIN_H_
