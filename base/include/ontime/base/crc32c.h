#pragma once
// CRC-32C (Castagnoli), the checksum Kafka and ext4 use, for ontime's binary state records.
// Incremental: Update as bytes pass, then value(). Boost.CRC does the work; its header stays here.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace ontime {

class Crc32c {
 public:
  Crc32c();
  ~Crc32c();
  Crc32c(const Crc32c&) = delete;
  Crc32c& operator=(const Crc32c&) = delete;

  void Update(const void* data, size_t size);
  uint32_t value() const;

  static uint32_t Of(std::string_view bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ontime
