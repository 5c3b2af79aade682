// The first example: the content digests mlops names values and files by.
//
//   bazel run //examples/digest                       # the bundled breast-cancer CSV
//   bazel run //examples/digest -- /path/to/file      # any file or directory
//
// It prints the digest of a few C++ values (what a cached step's inputs are keyed by) and of
// a file: the same 32 hex characters `xxh128sum FILE` prints. Hashing the file a second time
// comes from the stat cache without reading it again.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "mlops/codec/codec.h"
#include "mlops/hash/file_digest.h"

namespace example {

struct TrainParams {
  double learning_rate = 0.1;
  int epochs = 200;
  double l2 = 0.001;
};
MLOPS_CODEC_FIELDS(TrainParams, learning_rate, epochs, l2);

}  // namespace example

int main(int argc, char** argv) {
  std::string path = "examples/data/breast_cancer.csv";
  if (argc > 1) {
    path = argv[1];
    // `bazel run` starts the program in its runfiles; resolve the user's relative path
    // against the directory the command was typed in.
    const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
    if (cwd != nullptr && !path.empty() && path[0] != '/') path = std::string(cwd) + "/" + path;
  }

  const example::TrainParams params;
  const std::vector<double> weights = {0.5, -1.25, 3.0};
  const std::map<std::string, int> counts = {{"benign", 357}, {"malignant", 212}};

  fmt::print("Values (codec signature → digest):\n");
  fmt::print("  {:<40} {}\n", mlops::CodecSignature<example::TrainParams>(),
             mlops::Hash(params));
  fmt::print("  {:<40} {}\n", mlops::CodecSignature<std::vector<double>>(), mlops::Hash(weights));
  fmt::print("  {:<40} {}\n", mlops::CodecSignature<decltype(counts)>(), mlops::Hash(counts));

  mlops::FileDigester digester;
  struct stat st;
  const bool is_dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<mlops::Digest> digest =
      is_dir ? digester.Directory(path) : digester.File(path);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  if (!digest.ok()) {
    fmt::print(stderr, "error: {}\n", digest.status().ToString());
    return 1;
  }
  fmt::print("\n{} {}:\n  {}  ({} µs)\n", is_dir ? "Directory" : "File", path, *digest,
             std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
  if (!is_dir) fmt::print("  check it with: xxh128sum {}\n", path);
  return 0;
}
