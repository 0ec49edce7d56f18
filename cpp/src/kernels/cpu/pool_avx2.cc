// AVX2 loops for the 2x2 stride-2 float32 max pool (every small CNN's pooling layer), 8 outputs
// per step. The scalar loop in pool.cc is written without branches, but GCC turns its selects
// back into compare-and-jump code, and on random data every other jump mispredicts (~15 ns per
// output, measured with perf). Here the selects are vector blends, so nothing is predicted.
//
// Same semantics as the scalar loop, position for position: a later window element wins when it
// is greater or NaN (so the first of equal values and the first NaN win), and the index is the
// flat position in the input plane. The ragged tail of a row (Wo % 8 outputs) is left to the
// scalar loop, which agrees bit for bit.
#include <immintrin.h>

#include <cstdint>
#include <limits>

namespace ember::kernels {

namespace {

// Even and odd elements of 16 consecutive floats at p, each as outputs 0..7 in order.
inline void deinterleave(const float* p, __m256* even, __m256* odd) {
  const __m256 v0 = _mm256_loadu_ps(p), v1 = _mm256_loadu_ps(p + 8);
  // shuffle_ps works per 128-bit lane: [a0 a2 b0 b2 | a4 a6 b4 b6]; the 64-bit permute puts
  // the pairs back in order: a0 a2 a4 a6 b0 b2 b4 b6.
  const __m256 e = _mm256_shuffle_ps(v0, v1, 0x88), o = _mm256_shuffle_ps(v0, v1, 0xDD);
  *even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
  *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), 0xD8));
}

// Lanes where candidate x replaces the running max m: x > m, or x is NaN.
inline __m256 wins(__m256 x, __m256 m) {
  return _mm256_or_ps(_mm256_cmp_ps(x, m, _CMP_GT_OQ), _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

inline __m256i select_i(__m256i a, __m256i b, __m256 mask) {
  return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), mask));
}

// Scatters 8 int32 values as int64 to p[0..7].
inline void store_i64(int64_t* p, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), _mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 4), _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
}

// Loads 8 int64 from p as int32 (values known to fit).
inline __m256i load_i64_as_i32(const int64_t* p) {
  const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 4));
  // Low dword of each qword to the front of its 128-bit lane, then gather the lanes' fronts.
  const __m256i perm = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i l = _mm256_permutevar8x32_epi32(lo, perm), h = _mm256_permutevar8x32_epi32(hi, perm);
  return _mm256_permute2x128_si256(l, h, 0x20);
}

// The forward step for 8 outputs from two rows of 16 inputs: max and argmax offset within the
// window (0, 1, W or W + 1).
struct Max8 {
  __m256 m;
  __m256i k;
};

inline Max8 max8(const float* r0, const float* r1, __m256i wv, __m256i w1) {
  __m256 a, b, c, d;
  deinterleave(r0, &a, &b);
  deinterleave(r1, &c, &d);
  __m256 t = wins(b, a);
  __m256 m = _mm256_blendv_ps(a, b, t);
  __m256i k = select_i(_mm256_setzero_si256(), _mm256_set1_epi32(1), t);
  t = wins(c, m);
  m = _mm256_blendv_ps(m, c, t);
  k = select_i(k, wv, t);
  t = wins(d, m);
  m = _mm256_blendv_ps(m, d, t);
  k = select_i(k, w1, t);
  return {m, k};
}

// The backward step for 8 outputs: window position k of output j gets v[j], the other three 0.
// Writes 16 values to each of o0 (first window row) and o1 (second).
inline void spread8(__m256 v, __m256i k, __m256i wv, __m256i w1, float* o0, float* o1) {
  auto pick = [&](__m256i off) { return _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_cmpeq_epi32(k, off))); };
  const __m256 e0 = pick(_mm256_setzero_si256()), e1 = pick(_mm256_set1_epi32(1)), e2 = pick(wv), e3 = pick(w1);
  // unpack works per 128-bit lane: outputs 0,1 | 4,5 and 2,3 | 6,7; permute2f128 restores order.
  const __m256 lo0 = _mm256_unpacklo_ps(e0, e1), hi0 = _mm256_unpackhi_ps(e0, e1);
  const __m256 lo1 = _mm256_unpacklo_ps(e2, e3), hi1 = _mm256_unpackhi_ps(e2, e3);
  _mm256_storeu_ps(o0, _mm256_permute2f128_ps(lo0, hi0, 0x20));
  _mm256_storeu_ps(o0 + 8, _mm256_permute2f128_ps(lo0, hi0, 0x31));
  _mm256_storeu_ps(o1, _mm256_permute2f128_ps(lo1, hi1, 0x20));
  _mm256_storeu_ps(o1 + 8, _mm256_permute2f128_ps(lo1, hi1, 0x31));
}

}  // namespace

// One plane of the 2x2 stride-2 max pool (Ho = H / 2, Wo = W / 2 rows and columns of windows).
// A row's last Wo % 8 windows go through a zero-padded copy, so no load runs past the row.
// Requires H * W < 2^31 (indices are built in 32-bit lanes).
void max_pool2x2_plane_avx2(const float* x, int64_t W, int64_t Ho, int64_t Wo, float* y, int64_t* idx) {
  const __m256i lane2 = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i wv = _mm256_set1_epi32(static_cast<int32_t>(W)), w1 = _mm256_set1_epi32(static_cast<int32_t>(W + 1));
  const int64_t Wo8 = Wo / 8 * 8, rest = Wo - Wo8;
  for (int64_t oh = 0; oh < Ho; ++oh) {
    const float* r0 = x + 2 * oh * W;
    const float* r1 = r0 + W;
    float* yo = y + oh * Wo;
    int64_t* io = idx + oh * Wo;
    auto first = [&](int64_t ow) {
      return _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(2 * oh * W + 2 * ow)), lane2);
    };
    for (int64_t ow = 0; ow < Wo8; ow += 8) {
      const Max8 r = max8(r0 + 2 * ow, r1 + 2 * ow, wv, w1);
      _mm256_storeu_ps(yo + ow, r.m);
      store_i64(io + ow, _mm256_add_epi32(first(ow), r.k));
    }
    if (rest > 0) {
      alignas(32) float t0[16] = {}, t1[16] = {}, ym[8];
      alignas(32) int64_t ik[8];
      for (int64_t j = 0; j < 2 * rest; ++j) t0[j] = r0[2 * Wo8 + j], t1[j] = r1[2 * Wo8 + j];
      const Max8 r = max8(t0, t1, wv, w1);
      _mm256_store_ps(ym, r.m);
      store_i64(ik, _mm256_add_epi32(first(Wo8), r.k));
      for (int64_t j = 0; j < rest; ++j) yo[Wo8 + j] = ym[j], io[Wo8 + j] = ik[j];
    }
  }
}

// Backward of the same plane: each input element of a window gets the gradient if it is the
// recorded argmax, else 0 (windows do not overlap, so this overwrites instead of scattering).
// Only window positions are written, so no index can send a write out of bounds; an index
// outside its window drops that gradient. An odd last row / column of the input is zeroed.
void max_pool2x2_plane_backward_avx2(const float* gy, const int64_t* idx, int64_t H, int64_t W, int64_t Ho,
                                     int64_t Wo, float* gx) {
  const __m256i lane2 = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i wv = _mm256_set1_epi32(static_cast<int32_t>(W)), w1 = _mm256_set1_epi32(static_cast<int32_t>(W + 1));
  const int64_t Wo8 = Wo / 8 * 8, rest = Wo - Wo8;
  for (int64_t oh = 0; oh < Ho; ++oh) {
    float* r0 = gx + 2 * oh * W;
    float* r1 = r0 + W;
    const float* g = gy + oh * Wo;
    const int64_t* io = idx + oh * Wo;
    auto offsets = [&](const int64_t* ids, int64_t ow) {
      // An index far outside the plane wraps in 32 bits; at worst it lands on a position of its
      // own window, never outside it.
      return _mm256_sub_epi32(load_i64_as_i32(ids),
                              _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(2 * oh * W + 2 * ow)), lane2));
    };
    for (int64_t ow = 0; ow < Wo8; ow += 8)
      spread8(_mm256_loadu_ps(g + ow), offsets(io + ow, ow), wv, w1, r0 + 2 * ow, r1 + 2 * ow);
    if (rest > 0) {
      alignas(32) float gv[8] = {}, o0[16], o1[16];
      alignas(32) int64_t ik[8];
      for (int64_t j = 0; j < 8; ++j) ik[j] = -1;  // padding lanes match no window position
      for (int64_t j = 0; j < rest; ++j) gv[j] = g[Wo8 + j], ik[j] = io[Wo8 + j];
      spread8(_mm256_load_ps(gv), offsets(ik, Wo8), wv, w1, o0, o1);
      for (int64_t j = 0; j < 2 * rest; ++j) r0[2 * Wo8 + j] = o0[j], r1[2 * Wo8 + j] = o1[j];
    }
    if (2 * Wo < W) r0[W - 1] = r1[W - 1] = 0.f;
  }
  for (int64_t h = 2 * Ho; h < H; ++h)
    for (int64_t w = 0; w < W; ++w) gx[h * W + w] = 0.f;
}

// Outputs [ow0, ow0 + n8) (n8 a multiple of 8) of one row of a general float32 max pool with
// dilation 1 and stride s of 1 or 2, 8 per step, reading a padded copy of the plane: xp has row
// stride Wp, `left` columns of -inf before column 0 and enough -inf after the row that every load
// stays inside. The window rows are [h0, h1) (already clipped to the plane). Padding is -inf, so
// it never wins, and each lane starts at its first real column: the scalar loop's result, value
// and index, tap for tap in the same order.
void max_pool_row_avx2(const float* xp, int64_t Wp, int64_t left, int64_t W, int64_t h0, int64_t h1, int64_t kW,
                       int64_t s, int64_t pad, int64_t ow0, int64_t n8, float* y, int64_t* idx) {
  const __m256i lanes = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm256_set1_epi32(static_cast<int32_t>(s)));
  for (int64_t ow = ow0; ow < ow0 + n8; ow += 8) {
    const int64_t c0 = ow * s - pad;  // real column of lane 0's first tap
    const __m256i cols = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(c0)), lanes);
    __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    __m256i k = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(h0 * W)),
                                 _mm256_max_epi32(cols, _mm256_setzero_si256()));
    for (int64_t ih = h0; ih < h1; ++ih) {
      const float* row = xp + ih * Wp + left + c0;
      const __m256i pos_row = _mm256_add_epi32(_mm256_set1_epi32(static_cast<int32_t>(ih * W)), cols);
      for (int64_t kw = 0; kw < kW; ++kw) {
        __m256 v, odd;
        if (s == 1)
          v = _mm256_loadu_ps(row + kw);
        else
          deinterleave(row + kw, &v, &odd);
        const __m256 t = wins(v, m);
        m = _mm256_blendv_ps(m, v, t);
        k = select_i(k, _mm256_add_epi32(pos_row, _mm256_set1_epi32(static_cast<int32_t>(kw))), t);
      }
    }
    _mm256_storeu_ps(y + ow, m);
    store_i64(idx + ow, k);
  }
}

// The whole 32-float blocks of the global average's lane sums (pool.cc): lane[l] += x[i + l] for
// every block i, in four 8-lane vectors. Each lane sees the same adds in the same order as the
// portable loop (which SSE2 only runs 4 lanes at a time), so the bits are the same.
int64_t global_sum_lanes32_avx2(const float* x, int64_t n, float* lane) {
  __m256 a0 = _mm256_loadu_ps(lane), a1 = _mm256_loadu_ps(lane + 8);
  __m256 a2 = _mm256_loadu_ps(lane + 16), a3 = _mm256_loadu_ps(lane + 24);
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
  }
  _mm256_storeu_ps(lane, a0);
  _mm256_storeu_ps(lane + 8, a1);
  _mm256_storeu_ps(lane + 16, a2);
  _mm256_storeu_ps(lane + 24, a3);
  return i;
}

}  // namespace ember::kernels
