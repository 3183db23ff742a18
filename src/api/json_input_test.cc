#include "api/json_input.h"

#include <gtest/gtest.h>

#include "api/http_types.h"
#include "core/seal_keeper.h"

namespace sirr::api {
namespace {

TEST(JsonInputTest, ParsesObjects) {
  auto j = ParseJsonObject(R"({"name":"a","n":3,"nested":{"x":[1,2]}})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*OptionalString(*j, "name"), "a");
  EXPECT_EQ(*OptionalInt(*j, "n"), 3);
  EXPECT_FALSE(OptionalString(*j, "missing")->has_value());
}

TEST(JsonInputTest, RejectsMalformedDuplicatesDepthAndNonObjects) {
  EXPECT_EQ(ParseJsonObject("{").status().code(), StatusCode::kMalformed);
  EXPECT_EQ(ParseJsonObject(R"({"a":1,"a":2})").status().code(), StatusCode::kMalformed);
  EXPECT_TRUE(ParseJsonObject(R"({"a":{"a":1},"b":{"a":2}})").ok());
  EXPECT_EQ(ParseJsonObject(R"({"a":{"b":1,"b":2}})").status().code(), StatusCode::kMalformed);
  EXPECT_EQ(ParseJsonObject("[1]").status().code(), StatusCode::kMalformed);
  EXPECT_EQ(ParseJsonObject(std::string(40, '[') + std::string(40, ']')).status().code(),
            StatusCode::kMalformed);
  EXPECT_TRUE(ParseJsonObject(R"({"s":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})").ok());
}

TEST(JsonInputTest, TypeErrorsAreInvalidArgument) {
  auto j = ParseJsonObject(R"({"name":5,"n":"x","f":1.5,"big":18446744073709551615})");
  EXPECT_EQ(OptionalString(*j, "name").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OptionalInt(*j, "n").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OptionalInt(*j, "f").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OptionalInt(*j, "big").status().code(), StatusCode::kInvalidArgument);
}

TEST(HttpTypesTest, ParsesTargetAndMapsStatuses) {
  auto t = ParseTarget("/a/b%2Fc?x=1&y=a%20b&flag&z=c+d");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/a/b%2Fc");
  EXPECT_EQ(t->Query("y"), "a b");
  EXPECT_EQ(t->Query("z"), "c d");
  EXPECT_TRUE(t->HasQuery("flag"));
  EXPECT_FALSE(ParseTarget("/a?x=%zz").ok());
  EXPECT_FALSE(ParseTarget("/a?x=%2").ok());
  EXPECT_EQ(*PercentDecode("db%2Fprod", false), "db/prod");
  EXPECT_EQ(HttpStatusFor(StatusCode::kGone), 410);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 422);
  Response r = ErrorResponse(InvalidArgumentError("bad"));
  EXPECT_EQ(r.body, R"({"errors":[{"message":"bad"}]})");
  EXPECT_EQ(ErrorResponse(NotFoundError("x")).body, R"({"message":"x"})");
}

// Unavailable means "retry": Retry-After, except for a sealed vault (it stays sealed until an
// operator unseals it).
TEST(JsonInputTest, UnavailableSaysWhenToRetryUnlessSealed) {
  auto retry_after = [](const Response& r) {
    for (const auto& [k, v] : r.headers)
      if (k == "Retry-After") return v;
    return std::string();
  };
  EXPECT_EQ(retry_after(ErrorResponse(UnavailableError("database: connection lost"))), "1");
  EXPECT_EQ(retry_after(ErrorResponse(UnavailableError(std::string(core::kSealedMessage)))), "");
}

}  // namespace
}  // namespace sirr::api
