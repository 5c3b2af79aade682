// Internal: the default progress display of a pipeline run — one line on stderr, rewritten
// in place with '\r', shown only when stderr is a terminal and the run has lasted more than
// a second. Include mlops/pipeline/pipeline.h instead.
#ifndef MLOPS_PIPELINE_INTERNAL_PROGRESS_H_
#define MLOPS_PIPELINE_INTERNAL_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "mlops/pipeline/pipeline.h"

namespace mlops {
namespace pipeline_internal {

class TerminalProgress {
 public:
  // `enabled` false makes every call a no-op (e.g. stderr is not a terminal).
  TerminalProgress(std::string pipeline_name, bool enabled);
  // Ends the line if one was shown.
  ~TerminalProgress();
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  // Redraws the line (at most ten times a second, and not in the first second).
  // REQUIRES: calls are serialized.
  void Update(const RunProgress& p);

  // The line for `p`, e.g. "pipeline 'train': 12/40 done, 2 running, 10 cached".
  static std::string Line(const std::string& pipeline_name, const RunProgress& p);

  // Whether stderr is a terminal.
  static bool StderrIsTerminal();

 private:
  using Clock = std::chrono::steady_clock;
  const std::string name_;
  const bool enabled_;
  const Clock::time_point start_;
  Clock::time_point last_draw_;
  bool shown_ = false;
  RunProgress last_;
};

}  // namespace pipeline_internal
}  // namespace mlops

#endif  // MLOPS_PIPELINE_INTERNAL_PROGRESS_H_
