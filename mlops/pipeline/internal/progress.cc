#include "mlops/pipeline/internal/progress.h"

#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace mlops {
namespace pipeline_internal {

TerminalProgress::TerminalProgress(std::string pipeline_name, bool enabled)
    : name_(std::move(pipeline_name)),
      enabled_(enabled),
      start_(Clock::now()),
      last_draw_(start_) {}

TerminalProgress::~TerminalProgress() {
  if (!shown_) return;
  // The final counts, then end the line so that later output starts on its own.
  const std::string line = Line(name_, last_);
  std::fprintf(stderr, "\r%s\033[K\n", line.c_str());
  std::fflush(stderr);
}

bool TerminalProgress::StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

std::string TerminalProgress::Line(const std::string& pipeline_name, const RunProgress& p) {
  return absl::StrCat("pipeline '", pipeline_name, "': ", p.done, "/", p.total, " done, ",
                      p.running, " running, ", p.hits, " cached");
}

void TerminalProgress::Update(const RunProgress& p) {
  if (!enabled_) return;
  last_ = p;
  const Clock::time_point now = Clock::now();
  if (now - start_ < std::chrono::seconds(1)) return;
  if (shown_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  shown_ = true;
  const std::string line = Line(name_, p);
  std::fprintf(stderr, "\r%s\033[K", line.c_str());
  std::fflush(stderr);
}

}  // namespace pipeline_internal
}  // namespace mlops
