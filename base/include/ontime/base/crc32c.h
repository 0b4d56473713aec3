#pragma once
// CRC-32C (Castagnoli), the checksum Kafka and ext4 use, for ontime's binary state records.
// Incremental: Update as bytes pass, then value(). The CPU's crc32 instruction (SSE 4.2) when it
// has one, else eight bytes at a time from tables; no allocation (a changelog record is checked
// for every change the engine makes).

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ontime {

class Crc32c {
 public:
  Crc32c() = default;

  void Update(const void* data, size_t size);
  uint32_t value() const { return ~state_; }

  static uint32_t Of(std::string_view bytes);
  // The table version whatever the CPU has (for tests).
  static uint32_t OfPortable(std::string_view bytes);

 private:
  uint32_t state_ = 0xFFFFFFFFu;  // reflected, before the final inversion
};

}  // namespace ontime
