#include "crypto/hd/keccak.h"

#include <gtest/gtest.h>

#include "base/encoding.h"

namespace sirr::crypto::hd {
namespace {

std::string KeccakHex(std::string_view s) {
  return HexEncode(Keccak256(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size())));
}

TEST(Keccak256, MatchesPublishedVectors) {
  EXPECT_EQ(KeccakHex(""), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(KeccakHex("abc"), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
}

TEST(Keccak256, MatchesNobleAcrossBlockBoundaries) {
  // @noble/hashes keccak_256 of 136 (exactly one rate block) and 200 'a' bytes.
  EXPECT_EQ(KeccakHex(std::string(136, 'a')),
            "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
  EXPECT_EQ(KeccakHex(std::string(200, 'a')),
            "96ea54061def936c4be90b518992fdc6f12f535068a256229aca54267b4d084d");
}

TEST(Eip55, MatchesTheEipTestVectors) {
  for (std::string want :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    std::string lower = want.substr(2);
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    auto bytes = HexDecode(lower);
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(Eip55(std::span<const uint8_t, 20>(bytes->data(), 20)), want);
  }
}

TEST(EthereumAddress, RejectsCompressedKeys) {
  Bytes compressed(33, 0x02);
  EXPECT_FALSE(EthereumAddress(compressed).ok());
}

}  // namespace
}  // namespace sirr::crypto::hd
