// The ContentStore contract, against every implementation (content_store_testing.h): a
// damaged value is DATA_LOSS once, then NOT_FOUND (DiskStore keeps it in quarantine/), and a
// new Put makes it readable again.
#include "mlops/store/content_store.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mlops/hash/digest.h"
#include "mlops/store/content_store_testing.h"
#include "mlops/testing/bytes.h"
#include "mlops/testing/files.h"
#include "mlops/testing/status_matchers.h"

namespace mlops {
namespace {

using ::mlops::test::AllStoreFactories;
using ::mlops::test::ContentStoreTest;
using ::mlops::test::Damage;
using ::mlops::test::DamageName;
using ::mlops::test::Exists;
using ::mlops::test::kKiB;
using ::mlops::test::ListDir;
using ::mlops::test::Pattern;
using ::mlops::test::SameBytes;
using ::mlops::test::Slurp;
using ::mlops::test::StatusIs;
using ::mlops::test::StoreFactoryName;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------
// Corruption.

TEST_P(ContentStoreTest, CorruptValueIsDataLossOnceThenNotFound) {
  uint64_t seed = 200;
  for (const Damage damage : {Damage::kFlipByte, Damage::kTruncate}) {
    for (const size_t size : {size_t{100}, 100 * kKiB}) {  // read, and mapped on disk
      SCOPED_TRACE(absl::StrCat(DamageName(damage), ", size ", size));
      const std::string bytes = Pattern(size, seed++);
      const std::string bystander = Pattern(size, seed++);
      const Digest d = MustPut(bytes);
      const Digest other = MustPut(bystander);
      const std::string path = is_disk() ? disk()->PathOf(d) : "";
      const size_t quarantined_before = is_disk() ? ListDir(dir_ + "/quarantine").size() : 0;
      Corrupt(d, bytes, damage);
      if (HasFatalFailure()) return;

      absl::StatusOr<Blob> bad = store_->Get(d);
      EXPECT_THAT(bad, StatusIs(absl::StatusCode::kDataLoss));
      if (is_disk()) {
        EXPECT_THAT(std::string(bad.status().message()), HasSubstr(path));
      }
      EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
      EXPECT_THAT(store_->Get(d), StatusIs(absl::StatusCode::kNotFound));
      ASSERT_OK_AND_ASSIGN(const bool present, store_->Contains(d));
      EXPECT_FALSE(present);
      EXPECT_EQ(MustList().count(d), 0u);

      if (is_disk()) {
        EXPECT_FALSE(Exists(path));
        const std::vector<std::string> quarantine = ListDir(dir_ + "/quarantine");
        EXPECT_EQ(quarantine.size(), quarantined_before + 1);
        int found = 0;
        for (const std::string& name : quarantine) {
          if (name.rfind(d.ToHex(), 0) != 0) continue;
          ++found;
          const std::string kept = Slurp(dir_ + "/quarantine/" + name);
          EXPECT_EQ(kept.size(), damage == Damage::kTruncate ? size / 2 : size);
          EXPECT_NE(kept, bytes);
        }
        EXPECT_EQ(found, 1) << "one quarantined file named after " << d;
      }

      // The other value is untouched.
      ASSERT_OK_AND_ASSIGN(const Blob fine, store_->Get(other));
      EXPECT_TRUE(SameBytes(fine.view(), bystander));

      // Putting the bytes again makes the value readable again.
      ASSERT_OK_AND_ASSIGN(const Digest again, store_->Put(bytes));
      EXPECT_EQ(again, d);
      ASSERT_OK_AND_ASSIGN(const Blob good, store_->Get(d));
      EXPECT_TRUE(SameBytes(good.view(), bytes));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllStores, ContentStoreTest, ::testing::ValuesIn(AllStoreFactories()),
                         StoreFactoryName);

}  // namespace
}  // namespace mlops
