// Internal: codecs for std::map, std::set, std::unordered_map and std::unordered_set.
// Include mlops/codec/codec.h instead.
//
// Encodings (all counts are u64 little-endian):
//   map<K, V>, set<K>  count, entries in the container's order; decoding requires keys in
//                      strictly increasing order
//   unordered_map/set  count, entries sorted by the bytes of their encoded key; decoding
//                      requires that order, with no duplicates. Keys that encode alike
//                      (several NaNs) are written once, so {NaN, NaN} encodes as {NaN}.
#ifndef MLOPS_CODEC_INTERNAL_MAP_CODECS_H_
#define MLOPS_CODEC_INTERNAL_MAP_CODECS_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mlops/codec/encoder.h"
#include "mlops/codec/internal/codec_base.h"
#include "mlops/codec/internal/scalar_codecs.h"

namespace mlops {
namespace codec_internal {

// Sorted-by-key-bytes writer shared by unordered_map and unordered_set. Keys whose
// encodings coincide although the container holds them apart (several NaN keys, which all
// encode as the one canonical NaN) are written once: the entry whose value encodes
// smallest, so the result does not depend on the container's iteration order.
template <typename K, typename Entry, typename WriteValue>
void WriteSortedByKeyBytes(const std::vector<const Entry*>& entries,
                           const K& (*key_of)(const Entry&), WriteValue write_value,
                           Encoder& out) {
  struct Keyed {
    std::string key;
    std::string value;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(entries.size());
  for (const Entry* e : entries) {
    Keyed k;
    Encoder key_out(&k.key);
    Codec<K>::Write(key_of(*e), key_out);
    Encoder value_out(&k.value);
    write_value(*e, value_out);
    keyed.push_back(std::move(k));
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    return a.key != b.key ? a.key < b.key : a.value < b.value;
  });
  keyed.erase(std::unique(keyed.begin(), keyed.end(),
                          [](const Keyed& a, const Keyed& b) { return a.key == b.key; }),
              keyed.end());
  out.AppendInt<uint64_t>(keyed.size());
  for (const Keyed& k : keyed) {
    out.Append(k.key);
    out.Append(k.value);
  }
}

// Reads `n` entries of an unordered container: each a key, then whatever `add(key)` reads
// before adding the entry (false if the container already holds an equal key, or the rest
// fails to read). Requires the keys' encodings in strictly increasing byte order.
template <typename K, typename Add>
bool ReadSortedByKeyBytes(Decoder& in, uint64_t n, const char* container, Add add) {
  absl::string_view previous;
  for (uint64_t i = 0; i < n; ++i) {
    const size_t start = in.offset();
    K k{};
    if (!Codec<K>::Read(in, k)) return false;
    const absl::string_view key_bytes = in.Since(start);
    if (i > 0 && !(previous < key_bytes)) {
      return in.Fail(
          absl::StrCat(container, " keys are not sorted by their encoding, or repeat"));
    }
    previous = key_bytes;
    // Distinct encodings of keys the container deems equal (+0.0 and -0.0) would not
    // encode back to these bytes.
    if (!add(std::move(k))) {
      if (!in.ok()) return false;
      return in.Fail(
          absl::StrCat(container, " keys differ in encoding but are equal as keys"));
    }
  }
  return true;
}

}  // namespace codec_internal

// std::map and std::set: entries in the container's order.
template <typename K, typename V, typename C, typename A>
struct Codec<std::map<K, V, C, A>, std::enable_if_t<Codec<K>::kDefined && Codec<V>::kDefined>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 8;
  static std::string Name() {
    return absl::StrCat("map<", codec_internal::JoinNames<K, V>(), ">");
  }
  static std::string Signature() {
    return absl::StrCat("map/", kVersion, "<", codec_internal::JoinSignatures<K, V>(), ">");
  }
  static void Write(const std::map<K, V, C, A>& m, Encoder& out) {
    out.AppendInt<uint64_t>(m.size());
    for (const auto& [k, v] : m) {
      Codec<K>::Write(k, out);
      Codec<V>::Write(v, out);
    }
  }
  static bool Read(Decoder& in, std::map<K, V, C, A>& m) {
    uint64_t n = 0;
    if (!in.ReadCount(Codec<K>::kMinSize + Codec<V>::kMinSize, &n)) return false;
    m.clear();
    for (uint64_t i = 0; i < n; ++i) {
      K k{};
      if (!Codec<K>::Read(in, k)) return false;
      if (!m.empty() && !m.key_comp()(m.rbegin()->first, k)) {
        return in.Fail("map keys are not in strictly increasing order");
      }
      auto it = m.emplace_hint(m.end(), std::move(k), V{});
      if (!Codec<V>::Read(in, it->second)) return false;
    }
    return true;
  }
};

template <typename K, typename C, typename A>
struct Codec<std::set<K, C, A>, std::enable_if_t<Codec<K>::kDefined>> {
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 8;
  static std::string Name() { return absl::StrCat("set<", Codec<K>::Name(), ">"); }
  static std::string Signature() {
    return absl::StrCat("set/", kVersion, "<", Codec<K>::Signature(), ">");
  }
  static void Write(const std::set<K, C, A>& s, Encoder& out) {
    codec_internal::RequireNonEmptyEncoding<K>();
    out.AppendInt<uint64_t>(s.size());
    for (const K& k : s) Codec<K>::Write(k, out);
  }
  static bool Read(Decoder& in, std::set<K, C, A>& s) {
    codec_internal::RequireNonEmptyEncoding<K>();
    uint64_t n = 0;
    if (!in.ReadCount(Codec<K>::kMinSize, &n)) return false;
    s.clear();
    for (uint64_t i = 0; i < n; ++i) {
      K k{};
      if (!Codec<K>::Read(in, k)) return false;
      if (!s.empty() && !s.key_comp()(*s.rbegin(), k)) {
        return in.Fail("set keys are not in strictly increasing order");
      }
      s.emplace_hint(s.end(), std::move(k));
    }
    return true;
  }
};

// std::unordered_map and std::unordered_set: entries sorted by the bytes of their encoded
// key, so the encoding does not depend on hashing or insertion order.
template <typename K, typename V, typename H, typename E, typename A>
struct Codec<std::unordered_map<K, V, H, E, A>,
             std::enable_if_t<Codec<K>::kDefined && Codec<V>::kDefined>> {
  using Map = std::unordered_map<K, V, H, E, A>;
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 8;
  static std::string Name() {
    return absl::StrCat("unordered_map<", codec_internal::JoinNames<K, V>(), ">");
  }
  static std::string Signature() {
    return absl::StrCat("unordered_map/", kVersion, "<",
                        codec_internal::JoinSignatures<K, V>(), ">");
  }
  static void Write(const Map& m, Encoder& out) {
    std::vector<const typename Map::value_type*> entries;
    entries.reserve(m.size());
    for (const auto& e : m) entries.push_back(&e);
    codec_internal::WriteSortedByKeyBytes<K, typename Map::value_type>(
        entries, +[](const typename Map::value_type& e) -> const K& { return e.first; },
        [](const typename Map::value_type& e, Encoder& o) { Codec<V>::Write(e.second, o); },
        out);
  }
  static bool Read(Decoder& in, Map& m) {
    uint64_t n = 0;
    if (!in.ReadCount(Codec<K>::kMinSize + Codec<V>::kMinSize, &n)) return false;
    m.clear();
    m.reserve(static_cast<size_t>(std::min<uint64_t>(n, in.remaining() / 16 + 1)));
    return codec_internal::ReadSortedByKeyBytes<K>(in, n, "unordered_map", [&](K&& k) {
      V v{};
      if (!Codec<V>::Read(in, v)) return false;
      return m.emplace(std::move(k), std::move(v)).second;
    });
  }
};

template <typename K, typename H, typename E, typename A>
struct Codec<std::unordered_set<K, H, E, A>, std::enable_if_t<Codec<K>::kDefined>> {
  using Set = std::unordered_set<K, H, E, A>;
  static constexpr bool kDefined = true;
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kMinSize = 8;
  static std::string Name() { return absl::StrCat("unordered_set<", Codec<K>::Name(), ">"); }
  static std::string Signature() {
    return absl::StrCat("unordered_set/", kVersion, "<", Codec<K>::Signature(), ">");
  }
  static void Write(const Set& s, Encoder& out) {
    codec_internal::RequireNonEmptyEncoding<K>();
    std::vector<const K*> entries;
    entries.reserve(s.size());
    for (const K& k : s) entries.push_back(&k);
    codec_internal::WriteSortedByKeyBytes<K, K>(
        entries, +[](const K& k) -> const K& { return k; }, [](const K&, Encoder&) {}, out);
  }
  static bool Read(Decoder& in, Set& s) {
    codec_internal::RequireNonEmptyEncoding<K>();
    uint64_t n = 0;
    if (!in.ReadCount(Codec<K>::kMinSize, &n)) return false;
    s.clear();
    s.reserve(static_cast<size_t>(std::min<uint64_t>(n, in.remaining() / 16 + 1)));
    return codec_internal::ReadSortedByKeyBytes<K>(
        in, n, "unordered_set", [&](K&& k) { return s.insert(std::move(k)).second; });
  }
};

}  // namespace mlops

#endif  // MLOPS_CODEC_INTERNAL_MAP_CODECS_H_
