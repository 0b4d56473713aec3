// The engine's snapshot format: little-endian on purpose, versioned, checksummed, and trusting
// nothing it reads back (a flipped byte, a cut file, an enum out of range, an older format).

#include <sstream>

#include "fakes/engine_harness.h"
#include "ontime/base/crc32c.h"

namespace ontime::testing {
namespace {

class SnapshotCodec : public EngineHarness {
 protected:
  std::string Snapshot() {
    std::ostringstream out;
    engine_->Save(out);
    return out.str();
  }
  Status Load(const std::string& bytes) {
    std::istringstream in(bytes);
    rules::Engine fresh(rules_, nullptr);
    return fresh.Load(in);
  }
  // A copy with the checksum recomputed, so that only the record's own checks can object.
  static std::string Resealed(std::string bytes) {
    const size_t crc_at = bytes.size() - 12;  // u32 crc, then the 8-byte trailer
    const uint32_t crc = Crc32c::Of(std::string_view(bytes).substr(0, crc_at));
    for (int i = 0; i < 4; ++i) bytes[crc_at + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
    return bytes;
  }
};

TEST_F(SnapshotCodec, IsLittleEndianVersionedAndRoundTrips) {
  Accept("D1", "Mon 09:00", "PFEE");
  Send("D1", "supplement_requested", "Mon 10:00");
  const std::string bytes = Snapshot();
  EXPECT_EQ(bytes.substr(0, 8), "ONTIMESN");
  EXPECT_EQ(bytes.substr(8, 4), std::string("\x03\x00\x00\x00", 4)) << "version 3, little-endian";
  EXPECT_EQ(bytes.substr(bytes.size() - 8), "ONTIMESN");
  std::istringstream in(bytes);
  rules::Engine restored(rules_, nullptr);
  ASSERT_TRUE(restored.Load(in).ok());
  std::ostringstream again;
  restored.Save(again);
  EXPECT_EQ(again.str(), bytes) << "Save(Load(x)) == x";
}

TEST_F(SnapshotCodec, EveryFlippedByteAndEveryCutIsAnError) {
  Accept("D2", "Mon 09:00", "P2D");
  Accept("D3", "Mon 09:30", "PFEE");
  Send("D3", "supplement_requested", "Mon 10:00");
  const std::string bytes = Snapshot();
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x20);
    EXPECT_FALSE(Load(flipped).ok()) << "byte " << at << " of " << bytes.size();
  }
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_FALSE(Load(bytes.substr(0, size)).ok()) << "cut at " << size;
  }
}

TEST_F(SnapshotCodec, ABadRecordIsRefusedEvenWithAGoodChecksum) {
  Accept("D4", "Mon 09:00", "PFEE");
  const std::string bytes = Snapshot();
  ASSERT_TRUE(Load(Resealed(bytes)).ok());
  // The dossier record's own checksum still guards it (partitioned_state_test checks its fields).
  std::string bad = bytes;
  const size_t id_at = bad.find("D4");
  bad[id_at + 1] = '5';
  Status loaded = Load(Resealed(bad));
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("checksum"), std::string::npos) << loaded.error().message;
}

TEST_F(SnapshotCodec, AnOlderFormatIsNamedAndRefused) {
  std::string v1 = "ONTIMES1";
  v1.append(64, '\0');
  Status loaded = Load(v1);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("format 1"), std::string::npos) << loaded.error().message;
  EXPECT_FALSE(Load("not a snapshot at all").ok());
}

}  // namespace
}  // namespace ontime::testing
