#include "base/secret_bytes.h"

#include <string.h>  // explicit_bzero
#include <algorithm>
#include <cstring>
#include <new>

namespace sirr {

void SecureWipe(void* p, size_t n) {
  if (p != nullptr && n > 0) explicit_bzero(p, n);
}

bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | (a[i] ^ b[i]);
  return diff == 0;
}

SecretBytes::SecretBytes(size_t size)
    : data_(size ? new uint8_t[size]() : nullptr), size_(size), capacity_(size) {}

SecretBytes::SecretBytes(std::span<const uint8_t> data) : SecretBytes(data.size()) {
  if (!data.empty()) std::memcpy(data_, data.data(), data.size());
}

SecretBytes SecretBytes::FromString(std::string_view s) { return SecretBytes(AsBytes(s)); }

SecretBytes::~SecretBytes() { Release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(other.data_), size_(other.size_), capacity_(other.capacity_) {
  other.data_ = nullptr;
  other.size_ = 0;
  other.capacity_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = other.data_;
    size_ = other.size_;
    capacity_ = other.capacity_;
    other.data_ = nullptr;
    other.size_ = 0;
    other.capacity_ = 0;
  }
  return *this;
}

void SecretBytes::Release() {
  SecureWipe(data_, capacity_);
  delete[] data_;
  data_ = nullptr;
  size_ = 0;
  capacity_ = 0;
}

void SecretBytes::Truncate(size_t n) {
  if (n >= size_) return;
  SecureWipe(data_ + n, size_ - n);
  size_ = n;
}

void SecretBytes::Append(std::span<const uint8_t> more) {
  if (more.empty()) return;
  if (capacity_ - size_ < more.size()) {
    SecretBytes grown(std::max(size_ + more.size(), capacity_ * 2));
    if (size_) std::memcpy(grown.data_, data_, size_);
    grown.size_ = size_;
    *this = std::move(grown);  // wipes the old buffer
  }
  std::memcpy(data_ + size_, more.data(), more.size());
  size_ += more.size();
}

bool SecretBytes::Equals(const SecretBytes& other) const {
  return ConstantTimeEquals(reveal(), other.reveal());
}

std::ostream& operator<<(std::ostream& os, const SecretBytes& s) {
  return os << "[redacted " << s.size() << " bytes]";
}

}  // namespace sirr
