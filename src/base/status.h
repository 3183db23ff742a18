#pragma once

// Errors are values. A Status is either OK or a code with a message meant for the caller
// (it may reach an HTTP response or a CLI's stderr, so it never holds secret material).
// Each code maps to exactly one HTTP status (api/http_types.cc, HttpStatusFor).
//
// Thread safety: immutable values, safe to copy between threads.

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sirr {

enum class StatusCode {
  kOk = 0,
  kMalformed,           // 400: the request could not be parsed
  kUnauthenticated,     // 401: no or invalid credentials
  kPermissionDenied,    // 403: authenticated but not allowed
  kNotFound,            // 404
  kAlreadyExists,       // 409: conflict with existing state
  kFailedPrecondition,  // 409: the state does not allow the operation
  kGone,                // 410: burned or expired
  kTooLarge,            // 413
  kInvalidArgument,     // 422: well-formed but invalid
  kResourceExhausted,   // 429
  kInternal,            // 500
  kUnavailable,         // 503: sealed, audit log unwritable, shutting down
  kDataLoss,            // 500: stored data failed an integrity check
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code != StatusCode::kOk);
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Adds context in front of the message, keeping the code.
  Status Annotate(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status MalformedError(std::string m) { return {StatusCode::kMalformed, std::move(m)}; }
inline Status UnauthenticatedError(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status PermissionDeniedError(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status FailedPreconditionError(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status GoneError(std::string m) { return {StatusCode::kGone, std::move(m)}; }
inline Status TooLargeError(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
inline Status InvalidArgumentError(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status ResourceExhaustedError(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }

std::ostream& operator<<(std::ostream& os, const Status& s);

// A value or an error. Accessing value() of an error is a programming error (asserts).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : v_(status) { assert(!status.ok()); }  // NOLINT
  StatusOr(Status&& status) : v_(std::move(status)) {                    // NOLINT
    assert(!std::get<Status>(v_).ok());
  }
  StatusOr(const T& value) : v_(value) {}        // NOLINT
  StatusOr(T&& value) : v_(std::move(value)) {}  // NOLINT
  template <typename U>
  requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, T> &&
           !std::is_same_v<std::decay_t<U>, Status>) StatusOr(U&& value)
      : v_(T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? OkStatus() : std::get<Status>(v_); }

  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace sirr

#define SIRR_CONCAT_INNER(a, b) a##b
#define SIRR_CONCAT(a, b) SIRR_CONCAT_INNER(a, b)

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define SIRR_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::sirr::Status sirr_status_ = (expr);        \
    if (!sirr_status_.ok()) return sirr_status_; \
  } while (0)

// `SIRR_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a StatusOr or returns its error.
#define SIRR_ASSIGN_OR_RETURN(lhs, expr) \
  SIRR_ASSIGN_OR_RETURN_IMPL(SIRR_CONCAT(sirr_statusor_, __LINE__), lhs, expr)
#define SIRR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
