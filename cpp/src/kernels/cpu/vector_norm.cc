// Norm reductions, scaling and clamping over lists of buffers (see norm.h).
#include "kernels/cpu/vector_norm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace ember::kernels {
namespace {

constexpr int64_t kChunk = 8192;

struct Chunk {
  int64_t tensor, begin, end;
};

// The fixed chunking of all buffers: chunk boundaries depend on the sizes only.
std::vector<Chunk> make_chunks(int64_t num_tensors, const int64_t* numels) {
  std::vector<Chunk> chunks;
  for (int64_t t = 0; t < num_tensors; ++t)
    for (int64_t b = 0; b < numels[t]; b += kChunk) chunks.push_back({t, b, std::min(b + kChunk, numels[t])});
  return chunks;
}

// Four interleaved accumulators (a fixed order, so deterministic) let the sum loops pipeline.
template <typename T, typename F>
double chunk_sum(const T* x, int64_t n, F f) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    a0 += f(static_cast<double>(x[i]));
    a1 += f(static_cast<double>(x[i + 1]));
    a2 += f(static_cast<double>(x[i + 2]));
    a3 += f(static_cast<double>(x[i + 3]));
  }
  for (; i < n; ++i) a0 += f(static_cast<double>(x[i]));
  return (a0 + a1) + (a2 + a3);
}

template <typename T>
double chunk_reduce(const T* x, int64_t n, NormKind kind, double p) {
  switch (kind) {
    case NormKind::Zero: return chunk_sum(x, n, [](double v) { return v != 0 ? 1.0 : 0.0; });
    case NormKind::One: return chunk_sum(x, n, [](double v) { return std::abs(v); });
    case NormKind::Two: return chunk_sum(x, n, [](double v) { return v * v; });
    case NormKind::P: return chunk_sum(x, n, [p](double v) { return std::pow(std::abs(v), p); });
    case NormKind::Inf: {
      double m = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double a = std::abs(static_cast<double>(x[i]));
        if (!(a <= m) && !std::isnan(m)) m = a;  // NaN wins (and then stays)
      }
      return m;
    }
    case NormKind::NegInf: {
      double m = std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < n; ++i) {
        const double a = std::abs(static_cast<double>(x[i]));
        if (!(a >= m) && !std::isnan(m)) m = a;  // NaN wins (and then stays)
      }
      return m;
    }
  }
  return 0;
}

double combine(NormKind kind, double acc, double v) {
  if (kind == NormKind::Inf) return (std::isnan(acc) || std::isnan(v)) ? NAN : std::max(acc, v);
  if (kind == NormKind::NegInf) return (std::isnan(acc) || std::isnan(v)) ? NAN : std::min(acc, v);
  return acc + v;
}

// cost = rough operations per element, for the parallel threshold.
template <typename Body>
void for_each_chunk(const std::vector<Chunk>& chunks, int64_t cost, const Body& body) {
  const int64_t nc = static_cast<int64_t>(chunks.size());
  int64_t total = 0;
  for (const Chunk& ch : chunks) total += ch.end - ch.begin;
#pragma omp parallel for schedule(static) if (nc > 1 && cpu::worth_parallel(total * cost))
  for (int64_t c = 0; c < nc; ++c) body(c, chunks[c]);
}

}  // namespace

template <typename T>
void norm_reduce(int64_t num_tensors, const T* const* data, const int64_t* numels, NormKind kind, double p,
                 double* out) {
  const std::vector<Chunk> chunks = make_chunks(num_tensors, numels);
  std::vector<double> partial(chunks.size());
  for_each_chunk(chunks, kind == NormKind::P ? 20 : 2, [&](int64_t c, const Chunk& ch) {
    partial[c] = chunk_reduce(data[ch.tensor] + ch.begin, ch.end - ch.begin, kind, p);
  });
  const double empty = kind == NormKind::NegInf ? std::numeric_limits<double>::infinity() : 0.0;
  for (int64_t t = 0; t < num_tensors; ++t) out[t] = empty;
  for (size_t c = 0; c < chunks.size(); ++c) out[chunks[c].tensor] = combine(kind, out[chunks[c].tensor], partial[c]);
}

template <typename T>
void scale_inplace(int64_t num_tensors, T* const* data, const int64_t* numels, T scale) {
  for_each_chunk(make_chunks(num_tensors, numels), 1, [&](int64_t, const Chunk& ch) {
    T* x = data[ch.tensor];
    for (int64_t i = ch.begin; i < ch.end; ++i) x[i] = x[i] * scale;
  });
}

template <typename T>
void clamp_inplace(int64_t num_tensors, T* const* data, const int64_t* numels, T lo, T hi) {
  for_each_chunk(make_chunks(num_tensors, numels), 1, [&](int64_t, const Chunk& ch) {
    T* x = data[ch.tensor];
    for (int64_t i = ch.begin; i < ch.end; ++i) {
      const T y = x[i] < lo ? lo : x[i];  // clamp_min, then clamp_max, as torch: hi wins if lo > hi
      x[i] = y > hi ? hi : y;
    }
  });
}

#define EMBER_INSTANTIATE(T)                                                                           \
  template void norm_reduce<T>(int64_t, const T* const*, const int64_t*, NormKind, double, double*); \
  template void scale_inplace<T>(int64_t, T* const*, const int64_t*, T);                             \
  template void clamp_inplace<T>(int64_t, T* const*, const int64_t*, T, T);
EMBER_INSTANTIATE(float)
EMBER_INSTANTIATE(double)
#undef EMBER_INSTANTIATE

}  // namespace ember::kernels
