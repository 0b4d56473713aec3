#include "ontime/base/crc32c.h"

#include <boost/crc.hpp>

namespace ontime {

struct Crc32c::Impl {
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;
};

Crc32c::Crc32c() : impl_(std::make_unique<Impl>()) {}
Crc32c::~Crc32c() = default;

void Crc32c::Update(const void* data, size_t size) { impl_->crc.process_bytes(data, size); }
uint32_t Crc32c::value() const { return impl_->crc.checksum(); }

uint32_t Crc32c::Of(std::string_view bytes) {
  Crc32c crc;
  crc.Update(bytes.data(), bytes.size());
  return crc.value();
}

}  // namespace ontime
