#include "examples/quickstart/quickstart.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace quickstart {

absl::StatusOr<Dataset> Load(const mlops::File& csv) {
  std::ifstream in(csv.path());
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", csv.path()));
  std::string line;
  if (!std::getline(in, line)) return absl::InvalidArgumentError(csv.path() + " is empty");
  std::vector<std::string> header = absl::StrSplit(line, ',');
  Dataset d;
  if (header.size() < 2 || !absl::SimpleAtoi(header[0], &d.rows) ||
      !absl::SimpleAtoi(header[1], &d.cols) || d.rows <= 0 || d.cols <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(csv.path(), ":1: header must be 'rows,cols,...', got '", line, "'"));
  }
  d.features.reserve(static_cast<size_t>(d.rows * d.cols));
  for (int64_t r = 0; r < d.rows; ++r) {
    if (!std::getline(in, line)) {
      return absl::InvalidArgumentError(absl::StrCat(csv.path(), ": expected ", d.rows,
                                                     " rows, found ", r));
    }
    std::vector<absl::string_view> cells = absl::StrSplit(absl::StripAsciiWhitespace(line), ',');
    if (static_cast<int64_t>(cells.size()) != d.cols + 1) {
      return absl::InvalidArgumentError(absl::StrCat(csv.path(), ":", r + 2, ": expected ",
                                                     d.cols + 1, " values, found ",
                                                     cells.size()));
    }
    for (int64_t c = 0; c < d.cols; ++c) {
      double v = 0;
      if (!absl::SimpleAtod(cells[c], &v)) {
        return absl::InvalidArgumentError(absl::StrCat(csv.path(), ":", r + 2,
                                                       ": not a number: '", cells[c], "'"));
      }
      d.features.push_back(v);
    }
    int32_t label = 0;
    if (!absl::SimpleAtoi(cells[d.cols], &label) || (label != 0 && label != 1)) {
      return absl::InvalidArgumentError(absl::StrCat(csv.path(), ":", r + 2,
                                                     ": label must be 0 or 1, got '",
                                                     cells[d.cols], "'"));
    }
    d.labels.push_back(label);
  }
  return d;
}

Dataset Standardize(const Dataset& data) {
  Dataset out = data;
  for (int64_t c = 0; c < data.cols; ++c) {
    double sum = 0, sq = 0;
    for (int64_t r = 0; r < data.rows; ++r) sum += data.features[r * data.cols + c];
    const double mean = sum / static_cast<double>(data.rows);
    for (int64_t r = 0; r < data.rows; ++r) {
      const double x = data.features[r * data.cols + c] - mean;
      sq += x * x;
    }
    const double sd = std::sqrt(sq / static_cast<double>(data.rows));
    for (int64_t r = 0; r < data.rows; ++r) {
      double& x = out.features[r * data.cols + c];
      x = sd > 0 ? (x - mean) / sd : 0;
    }
  }
  return out;
}

namespace {

Dataset Rows(const Dataset& data, const std::vector<int64_t>& rows) {
  Dataset out;
  out.rows = static_cast<int64_t>(rows.size());
  out.cols = data.cols;
  for (int64_t r : rows) {
    out.features.insert(out.features.end(), data.features.begin() + r * data.cols,
                        data.features.begin() + (r + 1) * data.cols);
    out.labels.push_back(data.labels[r]);
  }
  return out;
}

double Sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

double Score(const Model& m, const Dataset& d, int64_t r) {
  double z = m.bias;
  for (int64_t c = 0; c < d.cols; ++c) z += m.weights[c] * d.features[r * d.cols + c];
  return Sigmoid(z);
}

}  // namespace

absl::StatusOr<std::tuple<Dataset, Dataset>> Split(const Dataset& data, double test_fraction,
                                                   uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("test fraction must be in (0, 1), got ", test_fraction));
  }
  std::vector<int64_t> order(static_cast<size_t>(data.rows));
  std::iota(order.begin(), order.end(), 0);
  // A Fisher-Yates shuffle with mt19937_64 (whose output the standard fixes), so the split is
  // the same with every standard library.
  std::mt19937_64 rng(seed);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  const size_t test = static_cast<size_t>(std::lround(test_fraction * data.rows));
  std::vector<int64_t> test_rows(order.begin(), order.begin() + test);
  std::vector<int64_t> train_rows(order.begin() + test, order.end());
  std::sort(test_rows.begin(), test_rows.end());
  std::sort(train_rows.begin(), train_rows.end());
  return std::make_tuple(Rows(data, train_rows), Rows(data, test_rows));
}

Model Train(mlops::Context& ctx, const Dataset& train, const TrainParams& params) {
  ctx.LogParam("learning_rate", params.learning_rate);
  ctx.LogParam("epochs", params.epochs);
  ctx.LogParam("l2", params.l2);
  Model m;
  m.weights.assign(static_cast<size_t>(train.cols), 0.0);
  const double n = static_cast<double>(train.rows);
  double loss = 0;
  for (int32_t epoch = 0; epoch < params.epochs; ++epoch) {
    std::vector<double> grad(m.weights.size(), 0.0);
    double grad_bias = 0;
    loss = 0;
    for (int64_t r = 0; r < train.rows; ++r) {
      const double p = Score(m, train, r);
      const double err = p - train.labels[r];
      for (int64_t c = 0; c < train.cols; ++c) grad[c] += err * train.features[r * train.cols + c];
      grad_bias += err;
      const double pc = std::clamp(p, 1e-12, 1 - 1e-12);
      loss -= train.labels[r] ? std::log(pc) : std::log(1 - pc);
    }
    for (size_t c = 0; c < m.weights.size(); ++c) {
      m.weights[c] -= params.learning_rate * (grad[c] / n + params.l2 * m.weights[c]);
    }
    m.bias -= params.learning_rate * grad_bias / n;
    ctx.LogMetric("loss", loss / n, epoch);  // the loss before this epoch's update
  }
  ctx.LogMetric("train_loss", loss / n);
  return m;
}

Metrics Evaluate(mlops::Context& ctx, const Model& model, const Dataset& test) {
  Metrics out;
  out.test_rows = test.rows;
  std::vector<std::pair<double, int32_t>> scored;
  int64_t correct = 0;
  for (int64_t r = 0; r < test.rows; ++r) {
    const double p = Score(model, test, r);
    scored.emplace_back(p, test.labels[r]);
    correct += (p >= 0.5) == (test.labels[r] == 1);
  }
  out.accuracy = test.rows > 0 ? static_cast<double>(correct) / test.rows : 0;
  // AUC: the probability that a random positive scores above a random negative (ties 1/2).
  std::sort(scored.begin(), scored.end());
  double positives = 0, negatives = 0, rank_sum = 0;
  for (size_t i = 0; i < scored.size();) {
    size_t j = i;
    while (j < scored.size() && scored[j].first == scored[i].first) ++j;
    const double mid_rank = (static_cast<double>(i + j) + 1) / 2;  // 1-based average rank
    for (size_t k = i; k < j; ++k) {
      if (scored[k].second == 1) {
        rank_sum += mid_rank;
        ++positives;
      } else {
        ++negatives;
      }
    }
    i = j;
  }
  out.auc = positives > 0 && negatives > 0
                ? (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
                : 0;
  ctx.LogMetric("accuracy", out.accuracy);
  ctx.LogMetric("auc", out.auc);
  return out;
}

}  // namespace quickstart
