// A dossier's texts (rules/src/dossier.h, white box): short ids without an applicant are kept in
// the record, longer ones and applicants in one allocation; both give back what was packed, and
// moving a record's text moves its id with it.

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "dossier.h"
#include "record_store.h"

namespace ontime::rules {
namespace {

TEST(DossierTextTest, GivesBackTheIdWhateverItsLength) {
  for (size_t length : {size_t{0}, size_t{1}, DossierText::kInlineIdBytes,
                        DossierText::kInlineIdBytes + 1, size_t{128}}) {
    const std::string id(length, 'x');
    const DossierText text = DossierText::Pack(id, std::nullopt);
    EXPECT_TRUE(static_cast<bool>(text)) << length;
    EXPECT_EQ(text.id(), id) << length;
    EXPECT_FALSE(text.applicant().has_value()) << length;
  }
}

TEST(DossierTextTest, KeepsTheApplicantBesideAShortId) {
  const DossierText text = DossierText::Pack(
      "D1", ApplicantView{"Nguyễn Văn An", "Số 12 đường Lê Duẩn", "0912345678", ""});
  EXPECT_EQ(text.id(), "D1");
  ASSERT_TRUE(text.applicant().has_value());
  EXPECT_EQ(text.applicant()->name, "Nguyễn Văn An");
  EXPECT_EQ(text.applicant()->address, "Số 12 đường Lê Duẩn");
  EXPECT_EQ(text.applicant()->phone, "0912345678");
  EXPECT_EQ(text.applicant()->email, "");
}

TEST(DossierTextTest, AMoveTakesTheTextAndLeavesAFreeSlot) {
  for (const std::string& id : {std::string("H12.22-260302-000001"), std::string(40, 'y')}) {
    DossierText from = DossierText::Pack(id, std::nullopt);
    DossierText to = std::move(from);
    EXPECT_EQ(to.id(), id);
    EXPECT_FALSE(static_cast<bool>(from));  // NOLINT(bugprone-use-after-move): what a move leaves
    EXPECT_EQ(from.id(), "");               // NOLINT(bugprone-use-after-move)
    to = DossierText::Pack("other", std::nullopt);
    EXPECT_EQ(to.id(), "other");
  }
}

TEST(RecordStoreTest, RecordsStayWhereTheyAreAcrossBlocks) {
  RecordStore<Dossier> store;
  const size_t n = RecordStore<Dossier>::kBlockRecords * 2 + 3;
  std::vector<const Dossier*> where;
  for (size_t i = 0; i < n; ++i) {
    Dossier& d = store.emplace_back();
    d.text = DossierText::Pack("D" + std::to_string(i), std::nullopt);
    where.push_back(&d);
  }
  ASSERT_EQ(store.size(), n);
  size_t i = 0;
  for (const Dossier& d : store) {
    EXPECT_EQ(&d, where[i]);
    EXPECT_EQ(d.id(), "D" + std::to_string(i));
    ++i;
  }
  EXPECT_EQ(i, n);
}

}  // namespace
}  // namespace ontime::rules
