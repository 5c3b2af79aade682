// An ordinary training program that gets caching and lineage for its one expensive
// function by a change of two lines (marked "mlops:" below).
//
// It reads the wine data, lifts the 13 measurements into 20,000 random Fourier features
// (the slow part: about a hundred million multiply-adds), and classifies wines by their
// nearest class centroid in that space. Run it twice: the second run takes the features
// from the cache.
//
//   bazel run //examples/embed_existing
//
// Before mlops, the feature line read:
//   const Matrix features = ExtractFeatures(rows, kFeatures, kSeed);
// (`.value()` aborts the program on an error, as an exception would have before; real code
// checks the absl::StatusOr.)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "mlops/core/workspace.h"

using Matrix = std::vector<std::vector<double>>;

// Random Fourier features approximating an RBF kernel (Rahimi & Recht, 2007).
Matrix ExtractFeatures(const Matrix& rows, int dims, uint64_t seed) {
  const size_t in = rows.empty() ? 0 : rows[0].size();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 0.3);
  std::uniform_real_distribution<double> phase(0.0, 2 * M_PI);
  std::vector<std::vector<double>> w(dims, std::vector<double>(in));
  std::vector<double> b(dims);
  for (int d = 0; d < dims; ++d) {
    for (double& x : w[d]) x = normal(rng);
    b[d] = phase(rng);
  }
  Matrix out(rows.size(), std::vector<double>(dims));
  for (size_t r = 0; r < rows.size(); ++r) {
    for (int d = 0; d < dims; ++d) {
      double z = b[d];
      for (size_t i = 0; i < in; ++i) z += w[d][i] * rows[r][i];
      out[r][d] = std::sqrt(2.0 / dims) * std::cos(z);
    }
  }
  return out;
}

int main() {
  std::ifstream csv("examples/data/wine_data.csv");
  std::string line;
  std::getline(csv, line);  // header
  Matrix rows;
  std::vector<int> labels;
  while (std::getline(csv, line)) {
    std::stringstream cells(line);
    std::vector<double> row;
    std::string cell;
    while (std::getline(cells, cell, ',')) row.push_back(std::stod(cell));
    labels.push_back(static_cast<int>(row.back()));
    row.pop_back();
    rows.push_back(row);
  }
  // Each measurement to mean 0, standard deviation 1.
  for (size_t i = 0; i < rows[0].size(); ++i) {
    double mean = 0, sq = 0;
    for (const auto& row : rows) mean += row[i] / rows.size();
    for (const auto& row : rows) sq += (row[i] - mean) * (row[i] - mean) / rows.size();
    for (auto& row : rows) row[i] = (row[i] - mean) / std::sqrt(sq);
  }
  constexpr int kFeatures = 20000;
  constexpr uint64_t kSeed = 7;

  const auto start = std::chrono::steady_clock::now();
  // mlops: open the workspace (.mlops where the program runs, or $MLOPS_WORKSPACE).
  const auto ws = mlops::Workspace::Open(mlops::Workspace::DefaultDir()).value();
  // mlops: call the function through it: inputs hashed, result cached, call traced.
  const Matrix features = ws->Call(mlops::MakeStep("extract", 1, &ExtractFeatures), rows, kFeatures, kSeed).value();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  // Nearest class centroid, scored on every fourth wine (the rest are the training set).
  std::vector<std::vector<double>> centroid(3, std::vector<double>(kFeatures, 0.0));
  std::vector<int> count(3, 0);
  for (size_t r = 0; r < features.size(); ++r) {
    if (r % 4 == 0) continue;
    for (int d = 0; d < kFeatures; ++d) centroid[labels[r]][d] += features[r][d];
    ++count[labels[r]];
  }
  for (int c = 0; c < 3; ++c) {
    for (double& x : centroid[c]) x /= count[c];
  }
  int correct = 0, tested = 0;
  for (size_t r = 0; r < features.size(); r += 4) {
    int best = 0;
    double best_distance = 1e300;
    for (int c = 0; c < 3; ++c) {
      double dist = 0;
      for (int d = 0; d < kFeatures; ++d) {
        dist += (features[r][d] - centroid[c][d]) * (features[r][d] - centroid[c][d]);
      }
      if (dist < best_distance) {
        best_distance = dist;
        best = c;
      }
    }
    correct += best == labels[r];
    ++tested;
  }
  std::printf("features: %zu x %d in %.3f s\naccuracy: %d/%d\n", features.size(), kFeatures,
              seconds, correct, tested);
  return 0;
}
