#include "base/encoding.h"

#include <gtest/gtest.h>

#include "base/random.h"
#include "base/secret_bytes.h"

namespace sirr {
namespace {

TEST(HexTest, EncodesLowerCaseAndDecodesEitherCase) {
  Bytes b = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(b), "0001abff");
  EXPECT_EQ(*HexDecode("0001ABff"), b);
}

TEST(HexTest, RejectsOddLengthAndNonHex) {
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_FALSE(HexDecode("0g").ok());
  EXPECT_EQ(HexDecode("0g").status().message().find("0g"), std::string::npos);
}

TEST(HexTest, RoundTripsEveryByte) {
  Bytes all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(*HexDecode(HexEncode(all)), all);
}

// RFC 4648 section 10 test vectors.
TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(std::string(decoded->begin(), decoded->end()), plain);
  }
}

TEST(Base64Test, AcceptsUnpaddedAndRejectsGarbage) {
  EXPECT_EQ(*Base64Decode("Zg"), Bytes({'f'}));
  EXPECT_FALSE(Base64Decode("Zg=").ok());
  EXPECT_FALSE(Base64Decode("Z").ok());
  EXPECT_FALSE(Base64Decode("Zm9v YmFy").ok());
  EXPECT_FALSE(Base64Decode("Zh==").ok());  // non-zero trailing bits
  EXPECT_FALSE(Base64Decode("Zm9v!").ok());
}

TEST(Base64Test, UrlSafeAlphabetRoundTrips) {
  Bytes b = {0xfb, 0xff, 0xfe, 0x3e};
  std::string std_enc = Base64Encode(b);
  std::string url_enc = Base64Encode(b, Base64Alphabet::kUrlSafe);
  EXPECT_EQ(std_enc, "+//+Pg==");
  EXPECT_EQ(url_enc, "-__-Pg");
  EXPECT_EQ(*Base64Decode(url_enc, Base64Alphabet::kUrlSafe), b);
  EXPECT_FALSE(Base64Decode(std_enc, Base64Alphabet::kUrlSafe).ok());
}

TEST(Base64Test, RandomRoundTrips) {
  DeterministicRandom rnd(7);
  for (size_t n = 0; n < 200; ++n) {
    Bytes b = rnd.RandomBytes(n);
    EXPECT_EQ(*Base64Decode(Base64Encode(b)), b);
    EXPECT_EQ(*Base64Decode(Base64Encode(b, Base64Alphabet::kUrlSafe), Base64Alphabet::kUrlSafe),
              b);
    EXPECT_EQ(Base64DecodeSecret(Base64Encode(b))->size(), n);
  }
}

TEST(SecretBytesTest, PrintsRedacted) {
  SecretBytes s = SecretBytes::FromString("hunter2");
  std::ostringstream os;
  os << s;
  EXPECT_EQ(os.str(), "[redacted 7 bytes]");
}

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::FromString("abc");
  SecretBytes b = std::move(a);
  EXPECT_EQ(b.reveal_string(), "abc");
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): the contract under test.
  static_assert(!std::is_copy_constructible_v<SecretBytes>);
}

TEST(SecretBytesTest, AppendTruncateAndConstantTimeEquals) {
  SecretBytes a = SecretBytes::FromString("abc");
  a.Append(AsBytes("def"));
  EXPECT_EQ(a.reveal_string(), "abcdef");
  a.Truncate(2);
  EXPECT_EQ(a.reveal_string(), "ab");
  EXPECT_TRUE(a.Equals(SecretBytes::FromString("ab")));
  EXPECT_FALSE(a.Equals(SecretBytes::FromString("ac")));
  EXPECT_FALSE(a.Equals(SecretBytes::FromString("abc")));
}

// A 64 MiB `push --file` reads 1,024 chunks of 64 KiB: the buffer must grow geometrically
// (about 20 reallocations, O(n) bytes copied), not once per chunk (about 32 GiB copied).
TEST(SecretBytesTest, AppendGrowsGeometricallyAndKeepsEveryByte) {
  SecretBytes a;
  std::string expected;
  int reallocations = 0;
  size_t capacity = a.capacity();
  for (int i = 0; i < 4096; ++i) {
    const std::string chunk(1 + i % 300, static_cast<char>('a' + i % 26));
    a.Append(AsBytes(chunk));
    expected += chunk;
    if (a.capacity() != capacity) ++reallocations, capacity = a.capacity();
  }
  EXPECT_EQ(a.reveal_string(), expected);
  EXPECT_LE(reallocations, 24);
  EXPECT_LE(a.capacity(), 2 * a.size());
  a.Truncate(10);  // the tail is wiped; appending after a truncation reuses the buffer
  a.Append(AsBytes("xyz"));
  EXPECT_EQ(a.reveal_string(), expected.substr(0, 10) + "xyz");
  EXPECT_EQ(a.capacity(), capacity);
}

TEST(RandomTest, UuidIsVersion4) {
  DeterministicRandom rnd(3);
  std::string u = rnd.Uuid();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
}

}  // namespace
}  // namespace sirr
