// The error hierarchy of the public API. Every entry point validates its arguments and throws one
// of these with the offending shapes / dtypes in the message; the Python bindings map them to
// RuntimeError, ValueError, TypeError, IndexError, MemoryError and NotImplementedError.
#pragma once

#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace ember {

class Error : public std::runtime_error {  // -> RuntimeError
 public:
  using std::runtime_error::runtime_error;
};
class ValueError : public Error {  // bad shapes, sizes, ranges
 public:
  using Error::Error;
};
class TypeError : public Error {  // unsupported dtype
 public:
  using Error::Error;
};
class IndexError : public Error {  // out-of-range dims and indices
 public:
  using Error::Error;
};
class OutOfMemoryError : public Error {  // -> MemoryError
 public:
  using Error::Error;
};
class NotImplementedError : public Error {
 public:
  using Error::Error;
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest);

inline std::ostream& print_shape(std::ostream& os, const std::vector<int64_t>& v) {
  os << '[';
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  return os << ']';
}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  if constexpr (std::is_same_v<T, std::vector<int64_t>>)
    print_shape(os, first);
  else
    os << first;
  append(os, rest...);
}
}  // namespace detail

// Builds a message from pieces; shapes (std::vector<int64_t>) print as [2, 3].
template <typename... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace ember

// EMBER_CHECK(cond, ValueError, "msg ", x) throws ember::ValueError("msg x") when cond is false.
#define EMBER_CHECK(cond, ErrorType, ...)                   \
  do {                                                      \
    if (!(cond)) throw ::ember::ErrorType(::ember::str(__VA_ARGS__)); \
  } while (0)
