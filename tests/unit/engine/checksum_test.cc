// The engine checksum is XXH64: checked against the reference implementation's published values.
#include <gtest/gtest.h>

#include <string_view>

#include "../../../src/engine/format.h"

namespace kiln::engine_format {
namespace {

uint64_t hash(std::string_view s, uint64_t seed = 0) {
  return xxh64({reinterpret_cast<const uint8_t*>(s.data()), s.size()}, seed);
}

TEST(ChecksumTest, MatchesXxh64ReferenceValues) {
  EXPECT_EQ(hash(""), 0xEF46DB3751D8E999ull);
  EXPECT_EQ(hash("abc"), 0x44BC2CF5AD770999ull);
  // 39 bytes: one 32-byte stripe, then an 8-byte-less tail.
  EXPECT_EQ(hash("Nobody inspects the spammish repetition"), 0xFBCEA83C8A378BF1ull);
}

TEST(ChecksumTest, EveryByteAndTheLengthMatter) {
  std::string s(100, 'x');
  uint64_t base = hash(s);
  for (size_t i = 0; i < s.size(); ++i) {
    std::string t = s;
    t[i] = 'y';
    EXPECT_NE(hash(t), base) << "byte " << i;
  }
  EXPECT_NE(hash(s.substr(0, 99)), base);
  EXPECT_NE(hash(s, 1), base);
}

}  // namespace
}  // namespace kiln::engine_format
