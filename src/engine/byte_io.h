// ByteWriter and ByteReader: the only code that turns engine-file bytes into numbers and back.
// Little-endian fixed-width integers, IEEE doubles by their bits, u32-length-prefixed strings.
// ByteReader checks every read against the bytes left and validates counts before the caller
// allocates; its errors name the section and the file offset. Neither knows the file's structure.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/support/status.h"

namespace kiln::engine_format {

static_assert(std::endian::native == std::endian::little,
              "the engine reader and writer assume a little-endian host");

class ByteWriter {
 public:
  void u8(uint8_t v) { buf_.push_back(v); }
  void u32(uint32_t v) { put(&v, 4); }
  void i32(int32_t v) { put(&v, 4); }
  void u64(uint64_t v) { put(&v, 8); }
  void i64(int64_t v) { put(&v, 8); }
  void f64(double v) { put(&v, 8); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  void bytes(std::span<const uint8_t> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
  void zeros(size_t n) { buf_.resize(buf_.size() + n, 0); }
  void pad_to(size_t alignment) { zeros((alignment - buf_.size() % alignment) % alignment); }
  // A u32 length and the bytes; fails if the length does not fit.
  Status str(std::string_view s, std::string_view what) {
    KILN_RETURN_IF_ERROR(count(s.size(), what));
    put(s.data(), s.size());
    return ok_status();
  }
  // A u32 list count; fails if `n` does not fit.
  Status count(size_t n, std::string_view what) {
    if (n > UINT32_MAX) {
      return invalid_argument(what, " has ", n, " elements, at most ", UINT32_MAX,
                              " fit");
    }
    u32(static_cast<uint32_t>(n));
    return ok_status();
  }
  void patch_u64(size_t at, uint64_t v) { std::memcpy(buf_.data() + at, &v, 8); }

  size_t size() const { return buf_.size(); }
  std::vector<uint8_t>& buffer() { return buf_; }

 private:
  void put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
  }
  std::vector<uint8_t> buf_;
};

class ByteReader {
 public:
  // `bytes` is the section; `file_offset` is where it starts in the file (for messages).
  ByteReader(std::span<const uint8_t> bytes, std::string_view section, uint64_t file_offset)
      : bytes_(bytes), section_(section), base_(file_offset) {}

  uint64_t offset() const { return base_ + pos_; }  // in the file
  size_t remaining() const { return bytes_.size() - pos_; }
  std::string_view section() const { return section_; }

  Expected<uint8_t> u8() { return get<uint8_t>("u8"); }
  Expected<uint32_t> u32() { return get<uint32_t>("u32"); }
  Expected<int32_t> i32() { return get<int32_t>("i32"); }
  Expected<uint64_t> u64() { return get<uint64_t>("u64"); }
  Expected<int64_t> i64() { return get<int64_t>("i64"); }
  Expected<double> f64() { return get<double>("f64"); }
  Expected<bool> boolean() {
    uint64_t at = offset();
    KILN_ASSIGN_OR_RETURN(uint8_t v, u8());
    if (v > 1) return error_at(at, StatusCode::kDataLoss, "expected a bool (0 or 1), found ", int(v));
    return v == 1;
  }
  // The next `n` bytes, not copied.
  Expected<std::span<const uint8_t>> bytes(size_t n, std::string_view what) {
    if (n > remaining()) {
      return error(StatusCode::kDataLoss, what, " needs ", n, " bytes but the section has ",
                   remaining(), " left");
    }
    std::span<const uint8_t> out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  Expected<std::string> str(std::string_view what) {
    KILN_ASSIGN_OR_RETURN(uint32_t n, u32());
    KILN_ASSIGN_OR_RETURN(std::span<const uint8_t> b, bytes(n, what));
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  // A u32 list count, checked so that `count * min_element_bytes` fits in what is left: a caller
  // may allocate `count` elements without trusting the file.
  Expected<uint32_t> count(size_t min_element_bytes, std::string_view what) {
    uint64_t at = offset();
    KILN_ASSIGN_OR_RETURN(uint32_t n, u32());
    if (min_element_bytes != 0 && n > remaining() / min_element_bytes) {
      return error_at(at, StatusCode::kDataLoss, what, " count ", n, " needs at least ",
                      uint64_t(n) * min_element_bytes, " bytes but the section has ", remaining(),
                      " left");
    }
    return n;
  }
  Status expect_end() const {
    if (remaining() != 0) {
      return error(StatusCode::kDataLoss, remaining(), " unread bytes at the end of the section");
    }
    return ok_status();
  }

  // "engine section 'graph' at byte 1234: <args>"
  template <typename... Args>
  Status error_at(uint64_t file_offset, StatusCode code, const Args&... args) const {
    return Status(code, str_cat("engine section '", section_, "' at byte ", file_offset, ": ",
                                args...));
  }
  template <typename... Args>
  Status error(StatusCode code, const Args&... args) const {
    return error_at(offset(), code, args...);
  }

 private:
  template <typename T>
  Expected<T> get(std::string_view type) {
    if (remaining() < sizeof(T)) {
      return error(StatusCode::kDataLoss, "expected a ", type, " but the section has ",
                   remaining(), " bytes left");
    }
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::span<const uint8_t> bytes_;
  std::string_view section_;
  uint64_t base_;
  size_t pos_ = 0;
};

}  // namespace kiln::engine_format
