// Status and Expected<T>: kiln's one way of reporting errors. Library code never throws across a
// public boundary, never aborts and never exits; it returns a Status naming what was expected, what
// was received and where. The Python binding maps StatusCode to exception classes in one table.
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kiln {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller passed something wrong (shape, dtype, syntax, option)
  kUnsupported,      // valid, but kiln cannot do it (op, dtype, device)
  kOutOfRange,       // a value outside a declared range (a dynamic dim, an index)
  kDataLoss,         // a corrupt, truncated or hostile file
  kNotFound,         // a file, symbol, pass or kernel that does not exist
  kInternal,         // a kiln bug: an invariant that should have held did not
  kIoError,          // the operating system refused a read or write
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: <message>", or "OK".
  std::string to_string() const;
  // Returns a copy whose message is "<context>: <message>".
  Status with_context(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status ok_status() { return Status(); }

// Concatenates any streamable arguments: str_cat("node ", name, " has rank ", 3).
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

template <typename... Args>
Status invalid_argument(const Args&... args) {
  return Status(StatusCode::kInvalidArgument, str_cat(args...));
}
template <typename... Args>
Status unsupported(const Args&... args) {
  return Status(StatusCode::kUnsupported, str_cat(args...));
}
template <typename... Args>
Status out_of_range(const Args&... args) {
  return Status(StatusCode::kOutOfRange, str_cat(args...));
}
template <typename... Args>
Status data_loss(const Args&... args) {
  return Status(StatusCode::kDataLoss, str_cat(args...));
}
template <typename... Args>
Status not_found(const Args&... args) {
  return Status(StatusCode::kNotFound, str_cat(args...));
}
template <typename... Args>
Status internal_error(const Args&... args) {
  return Status(StatusCode::kInternal, str_cat(args...));
}
template <typename... Args>
Status io_error(const Args&... args) {
  return Status(StatusCode::kIoError, str_cat(args...));
}

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : data_(std::move(value)) {}  // NOLINT: implicit by design
  Expected(Status status) : data_(std::move(status)) {}  // NOLINT: must not be ok

  bool ok() const { return std::holds_alternative<T>(data_); }
  // By value, so that KILN_RETURN_IF_ERROR(f().status()) cannot dangle.
  Status status() const { return ok() ? Status() : std::get<Status>(data_); }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

namespace detail {
inline Status to_status(const Status& s) { return s; }
template <typename T>
Status to_status(const Expected<T>& e) {
  return e.status();
}
}  // namespace detail

}  // namespace kiln

#define KILN_CONCAT_INNER_(a, b) a##b
#define KILN_CONCAT_(a, b) KILN_CONCAT_INNER_(a, b)

// Returns the Status of `expr` (a Status or an Expected) from the enclosing function if it failed.
#define KILN_RETURN_IF_ERROR(expr)                                         \
  do {                                                                     \
    auto&& kiln_status_or_ = (expr);                                       \
    if (!kiln_status_or_.ok()) return ::kiln::detail::to_status(kiln_status_or_); \
  } while (0)

// `lhs` = the value of the Expected `rexpr`, or returns its Status from the enclosing function.
#define KILN_ASSIGN_OR_RETURN(lhs, rexpr) \
  KILN_ASSIGN_OR_RETURN_IMPL_(KILN_CONCAT_(kiln_expected_, __LINE__), lhs, rexpr)
#define KILN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
