// Tensors <-> safetensors files, on top of the byte-level reader/writer in io/safetensors.h.
#include <cmath>
#include <cstring>

#include "ember/io.h"
#include "ember/ops.h"
#include "io/safetensors.h"

namespace ember::io {
namespace {

const char* st_dtype(DType t) {
  switch (t) {
    case DType::Bool: return "BOOL";
    case DType::Int64: return "I64";
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
  }
  return "?";
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31) v = mant ? NAN : INFINITY;
  else v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

float bf16_to_float(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

template <typename Src, typename Dst, typename F>
void convert(const uint8_t* src, Dst* dst, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) {
    Src v;
    std::memcpy(&v, src + i * sizeof(Src), sizeof(Src));  // unaligned-safe
    dst[i] = f(v);
  }
}

Tensor tensor_from_entry(const SafetensorsFile& file, const SafetensorsEntry& e) {
  const uint8_t* src = file.data(e);
  const std::string& d = e.dtype;
  auto make = [&](DType t) { return empty(e.shape, t); };
  if (d == "F32" || d == "F64" || d == "I64" || d == "BOOL") {
    DType t = d == "F32" ? DType::Float32 : d == "F64" ? DType::Float64 : d == "I64" ? DType::Int64 : DType::Bool;
    Tensor out = make(t);
    if (e.nbytes()) std::memcpy(out.raw_data(), src, e.nbytes());
    if (t == DType::Bool) {  // any non-zero byte is true; keep our bools canonical (0/1)
      uint8_t* p = static_cast<uint8_t*>(out.raw_data());
      for (int64_t i = 0; i < out.numel(); ++i) p[i] = p[i] != 0;
    }
    return out;
  }
  if (d == "F16" || d == "BF16") {
    Tensor out = make(DType::Float32);
    if (d == "F16") convert<uint16_t>(src, out.data<float>(), out.numel(), half_to_float);
    else convert<uint16_t>(src, out.data<float>(), out.numel(), bf16_to_float);
    return out;
  }
  Tensor out = make(DType::Int64);
  int64_t* o = out.data<int64_t>();
  const int64_t n = out.numel();
  auto widen = [](auto v) { return static_cast<int64_t>(v); };
  if (d == "I8") convert<int8_t>(src, o, n, widen);
  else if (d == "U8") convert<uint8_t>(src, o, n, widen);
  else if (d == "I16") convert<int16_t>(src, o, n, widen);
  else if (d == "U16") convert<uint16_t>(src, o, n, widen);
  else if (d == "I32") convert<int32_t>(src, o, n, widen);
  else if (d == "U32") convert<uint32_t>(src, o, n, widen);
  else if (d == "U64") {
    convert<uint64_t>(src, o, n, [&](uint64_t v) {
      EMBER_CHECK(v <= static_cast<uint64_t>(INT64_MAX), ValueError, "tensor '", e.name, "': U64 value ", v,
                  " does not fit in int64");
      return static_cast<int64_t>(v);
    });
  } else {
    throw TypeError(str("tensor '", e.name, "' has dtype ", d, ", which ember cannot represent"));
  }
  return out;
}

}  // namespace

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  std::vector<SafetensorsTensorView> views;
  std::vector<Tensor> keep;  // contiguous copies must live until the write is done
  for (const auto& [name, t] : tensors) {
    EMBER_CHECK(t.defined(), ValueError, "save: tensor '", name, "' is undefined");
    Tensor c = t.contiguous();
    keep.push_back(c);
    views.push_back({name, st_dtype(c.dtype()), c.shape(), c.raw_data(), static_cast<size_t>(c.numel()) * c.itemsize()});
  }
  write_safetensors_file(path, views, metadata);
}

Loaded load_safetensors(const std::string& path) {
  SafetensorsFile file = load_safetensors_file(path);
  Loaded out;
  out.metadata = file.header.metadata;
  for (size_t i : file.header.json_order) {
    const SafetensorsEntry& e = file.header.entries[i];
    out.tensors.emplace_back(e.name, tensor_from_entry(file, e));
  }
  return out;
}

}  // namespace ember::io
