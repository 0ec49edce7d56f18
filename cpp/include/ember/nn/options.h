// Argument helpers for the layer options: torch's C++ frontend style, where an options struct
// takes the required arguments in its constructor and the rest through chained setters:
//   Conv2d conv(Conv2dOptions(1, 6, 5).padding(2).bias(false));
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <type_traits>

#include "ember/error.h"

// Declares an option `name` of type T: a setter `name(v)` returning the options (for chaining),
// a getter `name()`, and the member `name_` (whose default follows the macro: `= 1;`).
#define EMBER_ARG(T, name)                  \
 public:                                    \
  auto& name(const T& new_##name) {         \
    name##_ = new_##name;                   \
    return *this;                           \
  }                                         \
  const T& name() const { return name##_; } \
                                            \
 public:                                    \
  T name##_

namespace ember::nn {

// An int for both dims or a {h, w} pair, as torch's `kernel_size=5` / `kernel_size=(3, 5)`.
struct Size2 {
  Size2(int64_t v) : h(v), w(v) {}  // NOLINT: implicit on purpose (`.stride(2)`)
  Size2(int64_t h_, int64_t w_) : h(h_), w(w_) {}
  std::array<int64_t, 2> array() const { return {h, w}; }
  bool operator==(const Size2& o) const { return h == o.h && w == o.w; }
  bool operator!=(const Size2& o) const { return !(*this == o); }
  int64_t h, w;
};

// A convolution's padding: explicit sizes (an int or {h, w}), or "valid" (none) / "same" (output
// size = input size; stride 1 and an odd effective kernel only, the symmetric case).
template <size_t N>
struct ConvPadding {
  enum class Mode { Explicit, Valid, Same };
  // Templated so that a literal 0 picks this and not the const char* constructor.
  template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
  ConvPadding(I p) {  // NOLINT
    sizes.fill(static_cast<int64_t>(p));
  }
  template <size_t M = N, typename = std::enable_if_t<M == 2>>
  ConvPadding(int64_t h, int64_t w) : sizes{h, w} {}
  ConvPadding(Size2 s) : sizes{s.h, s.w} { static_assert(N == 2, "a pair of paddings needs a 2-d convolution"); }
  ConvPadding(const char* m) : ConvPadding(std::string(m)) {}  // NOLINT
  ConvPadding(const std::string& m) {                          // NOLINT
    if (m == "valid") {
      mode = Mode::Valid;
    } else if (m == "same") {
      mode = Mode::Same;
    } else {
      throw ValueError(str("Invalid padding string '", m, "', should be one of 'valid', 'same'"));
    }
  }
  std::array<int64_t, N> sizes{};
  Mode mode = Mode::Explicit;
};

}  // namespace ember::nn
