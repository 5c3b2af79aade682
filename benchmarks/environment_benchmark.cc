// What recording the run's source revision costs (mlops/core/environment.h): git run twice
// (`rev-parse HEAD`, `status --porcelain --untracked-files=no`) per CaptureEnvironment,
// i.e. per Workspace::Open, next to the same without git ($MLOPS_SOURCE_REVISION set):
//   BM_CaptureEnvironmentNoGit            the baseline: git not run
//   BM_CaptureEnvironmentOutsideRepo      git run where there is no repository
//   BM_CaptureEnvironmentInCheckout       git run in a checkout: this source tree under
//                                         `bazel run` ($BUILD_WORKSPACE_DIRECTORY), else
//                                         a fresh repository of 200 small files
//   BM_WorkspaceOpenNoGit / BM_WorkspaceOpenInCheckout
//                                         opening (and closing) a workspace on disk, which
//                                         records a run, without and with git
//
//   bazel run //benchmarks:environment_benchmark
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmarks/ratio_main.h"
#include "mlops/core/environment.h"
#include "mlops/core/workspace.h"

namespace {

const std::string& Root() {
  static const std::string* root = [] {
    const char* base = std::getenv("MLOPS_BENCH_DIR");
    std::string tmpl_s = std::string(base ? base : "/tmp") + "/mlops_env_benchmark.XXXXXX";
    char* tmpl = tmpl_s.data();
    if (::mkdtemp(tmpl) == nullptr) std::abort();
    return new std::string(tmpl);
  }();
  return *root;
}

// The checkout the git benchmarks run in (see the top of the file).
const std::string& Checkout() {
  static const std::string* dir = [] {
    if (const char* src = std::getenv("BUILD_WORKSPACE_DIRECTORY"); src != nullptr && *src) {
      return new std::string(src);
    }
    auto* repo = new std::string(Root() + "/repo");
    std::string cmd = absl::StrCat("mkdir -p '", *repo, "' && cd '", *repo,
                                   "' && git init -q && for i in $(seq 200); do echo $i > f$i; "
                                   "done && git add . && git -c user.name=b -c user.email=b@b "
                                   "commit -q -m x");
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not make %s\n", repo->c_str());
    return repo;
  }();
  return *dir;
}

// Where CaptureEnvironment looks: `dir` with git, or nowhere (nullptr: git not run).
void LookIn(const char* dir) {
  if (dir == nullptr) {
    ::setenv("MLOPS_SOURCE_REVISION", "benchmark", 1);
    return;
  }
  ::unsetenv("MLOPS_SOURCE_REVISION");
  ::setenv("BUILD_WORKSPACE_DIRECTORY", dir, 1);
}

void Capture(benchmark::State& state, const char* dir, bool want_commit) {
  LookIn(dir);
  for (auto _ : state) {
    mlops::Environment env = mlops::CaptureEnvironment();
    benchmark::DoNotOptimize(env);
    if (want_commit && env.source_revision().empty()) {
      state.SkipWithError("no source revision found (is git installed?)");
      break;
    }
  }
}

void BM_CaptureEnvironmentNoGit(benchmark::State& state) { Capture(state, nullptr, false); }
BENCHMARK(BM_CaptureEnvironmentNoGit)->Unit(benchmark::kMillisecond);

void BM_CaptureEnvironmentOutsideRepo(benchmark::State& state) {
  const std::string dir = Root() + "/norepo";
  ::mkdir(dir.c_str(), 0755);
  ::setenv("GIT_CEILING_DIRECTORIES", Root().c_str(), 1);
  Capture(state, dir.c_str(), false);
}
BENCHMARK(BM_CaptureEnvironmentOutsideRepo)->Unit(benchmark::kMillisecond);

void BM_CaptureEnvironmentInCheckout(benchmark::State& state) {
  Capture(state, Checkout().c_str(), true);
}
BENCHMARK(BM_CaptureEnvironmentInCheckout)->Unit(benchmark::kMillisecond);

void Open(benchmark::State& state, const char* dir) {
  LookIn(dir);
  int i = 0;
  for (auto _ : state) {
    auto ws = mlops::Workspace::Open(absl::StrCat(Root(), "/ws", i++ % 4));
    if (!ws.ok()) {
      state.SkipWithError(ws.status().ToString().c_str());
      break;
    }
  }
}

void BM_WorkspaceOpenNoGit(benchmark::State& state) { Open(state, nullptr); }
BENCHMARK(BM_WorkspaceOpenNoGit)->Unit(benchmark::kMillisecond);

void BM_WorkspaceOpenInCheckout(benchmark::State& state) { Open(state, Checkout().c_str()); }
BENCHMARK(BM_WorkspaceOpenInCheckout)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  Checkout();  // before the variable is changed by the benchmarks
  const int rc = mlops_bench::RunWithRatios(
      argc, argv,
      {
          {"BM_CaptureEnvironmentOutsideRepo", "BM_CaptureEnvironmentNoGit", "overhead"},
          {"BM_CaptureEnvironmentInCheckout", "BM_CaptureEnvironmentNoGit", "overhead"},
          {"BM_WorkspaceOpenInCheckout", "BM_WorkspaceOpenNoGit", "overhead"},
      });
  const std::string cmd = "rm -rf '" + Root() + "'";
  if (std::system(cmd.c_str()) != 0) return 1;
  return rc;
}
