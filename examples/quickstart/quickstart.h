// The quickstart's steps: logistic regression on the Wisconsin breast-cancer data.
// load → standardize → split → train → evaluate, each an mlops step.
#ifndef MLOPS_EXAMPLES_QUICKSTART_QUICKSTART_H_
#define MLOPS_EXAMPLES_QUICKSTART_QUICKSTART_H_

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "mlops/core/workspace.h"

namespace quickstart {

// Rows of features with a 0/1 label each (row-major: features[row * cols + col]).
struct Dataset {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<double> features;
  std::vector<int32_t> labels;
};
MLOPS_CODEC_FIELDS(Dataset, rows, cols, features, labels);

struct TrainParams {
  double learning_rate = 0.1;
  int32_t epochs = 300;
  double l2 = 0.001;
};
MLOPS_CODEC_FIELDS(TrainParams, learning_rate, epochs, l2);

struct Model {
  std::vector<double> weights;
  double bias = 0;
};
MLOPS_CODEC_FIELDS(Model, weights, bias);

struct Metrics {
  double accuracy = 0;
  double auc = 0;
  int64_t test_rows = 0;
};
MLOPS_CODEC_FIELDS(Metrics, accuracy, auc, test_rows);

// Parses the CSV: a header line "rows,cols,class names...", then rows of `cols` numbers and
// a label. INVALID_ARGUMENT naming the line for anything malformed.
absl::StatusOr<Dataset> Load(const mlops::File& csv);

// Scales every feature to mean 0 and standard deviation 1.
Dataset Standardize(const Dataset& data);

// Shuffles rows with `seed` and splits off `test_fraction` of them as the test set.
absl::StatusOr<std::tuple<Dataset, Dataset>> Split(const Dataset& data, double test_fraction,
                                                   uint64_t seed);

// Full-batch gradient descent on the L2-regularized logistic loss. Logs its parameters and
// the final training loss.
Model Train(mlops::Context& ctx, const Dataset& train, const TrainParams& params);

// Accuracy at threshold 0.5 and ROC AUC on `test`. Logs both as metrics.
Metrics Evaluate(mlops::Context& ctx, const Model& model, const Dataset& test);

}  // namespace quickstart

#endif  // MLOPS_EXAMPLES_QUICKSTART_QUICKSTART_H_
