// Element types. float32 is the default; int64 and bool hold indices, labels and masks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ember/error.h"

namespace ember {

enum class DType : uint8_t { Bool = 0, Int64 = 1, Float32 = 2, Float64 = 3 };

constexpr size_t itemsize(DType t) {
  switch (t) {
    case DType::Bool: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

// Result type of a binary op between two tensors: bool < int64 < float32 < float64.
constexpr DType promote(DType a, DType b) { return static_cast<uint8_t>(a) > static_cast<uint8_t>(b) ? a : b; }

template <typename T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

template <typename T> struct type_tag { using type = T; };

// Calls fn(type_tag<T>{}) for the C++ type behind a floating dtype; others raise TypeError.
template <typename Fn>
decltype(auto) dispatch_floating(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::Float32: return fn(type_tag<float>{});
    case DType::Float64: return fn(type_tag<double>{});
    default: throw TypeError(str(op, ": expected a floating-point tensor (float32 or float64), got ", dtype_name(t)));
  }
}

// Same for any arithmetic dtype (int64 and floats); bool raises TypeError.
template <typename Fn>
decltype(auto) dispatch_numeric(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::Int64: return fn(type_tag<int64_t>{});
    case DType::Float32: return fn(type_tag<float>{});
    case DType::Float64: return fn(type_tag<double>{});
    default: throw TypeError(str(op, ": not supported for dtype ", dtype_name(t)));
  }
}

// Any dtype at all.
template <typename Fn>
decltype(auto) dispatch_all(DType t, Fn&& fn) {
  switch (t) {
    case DType::Bool: return fn(type_tag<bool>{});
    case DType::Int64: return fn(type_tag<int64_t>{});
    case DType::Float32: return fn(type_tag<float>{});
    case DType::Float64: return fn(type_tag<double>{});
  }
  throw Error("unknown dtype");
}

}  // namespace ember
