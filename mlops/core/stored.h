// mlops/core/stored.h — values that carry their content digest, and file inputs.
//
// `Stored<T>` is what a step call returns: the value (shared, immutable) together with the
// digest of its encoding, its size and its codec's type name. Passing a Stored<T> to the
// next step reuses that digest, so a large value is hashed once, not at every step. It
// converts implicitly to `const T&`.
//
// `File` names a file input by path; the step receives the path and mlops keys the call by
// the file's content (with a stat cache, so an unchanged large file is not re-read).
//
// Example:
//   absl::StatusOr<mlops::Stored<Table>> table = ws.Call(load, mlops::File("data.csv"));
//   const Table& t = **table;                       // or table->value()
//   ws.Call(clean, *table);                         // no rehash of the table
//
// Thread safety: Stored<T> is an immutable value, safe to share and copy (copies share T).
#ifndef MLOPS_CORE_STORED_H_
#define MLOPS_CORE_STORED_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "mlops/codec/codec.h"
#include "mlops/hash/digest.h"

namespace mlops {

template <typename T>
class Stored {
 public:
  // REQUIRES: `digest` is Hash(*value) and `size` the size of Encode(*value).
  Stored(std::shared_ptr<const T> value, Digest digest, int64_t size)
      : value_(std::move(value)), digest_(digest), size_(size) {}
  // Hashes `value`.
  explicit Stored(T value) : value_(std::make_shared<const T>(std::move(value))) {
    size_t size = 0;
    digest_ = Hash(*value_, &size);
    size_ = static_cast<int64_t>(size);
  }

  const T& value() const { return *value_; }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return value_.get(); }
  operator const T&() const { return *value_; }  // NOLINT: implicit by design

  const Digest& digest() const { return digest_; }
  int64_t size() const { return size_; }
  const std::shared_ptr<const T>& shared() const { return value_; }

  // Whether the call that returned this value was answered from the cache, and the id of
  // its execution in lineage (0 for values not returned by a call, or by a read-only call).
  bool cached() const { return cached_; }
  int64_t execution_id() const { return execution_id_; }
  void set_call(bool cached, int64_t execution_id) {
    cached_ = cached;
    execution_id_ = execution_id;
  }

 private:
  std::shared_ptr<const T> value_;
  Digest digest_;
  int64_t size_ = 0;
  bool cached_ = false;
  int64_t execution_id_ = 0;
};

// A file input, keyed by its content. The step reads the file at `path()` itself.
class File {
 public:
  explicit File(std::string path) : path_(std::move(path)) {}
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

template <typename T>
struct IsStored : std::false_type {};
template <typename T>
struct IsStored<Stored<T>> : std::true_type {};

}  // namespace mlops

#endif  // MLOPS_CORE_STORED_H_
