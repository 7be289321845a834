// The requantization of the cpu runtime's int8 convolutions, bit-exact with the reference
// (runtime/reference/kernels/quantized_common.h):
//   y = saturate(round_half_even(acc * M[c]) + y_zp)
// acc * M is the exact real product. M is a float32 (a 24-bit significand), so the product is
// exact in double while |acc| < 2^29; an accumulator beyond that takes the reference's int64
// path (quant::requantize). Rounding is by vrndscalepd / nearbyint: half to even.
#pragma once

#include "runtime/reference/kernels/quantized_common.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include <immintrin.h>

namespace hone::runtime::cpu {

namespace quant = reference::quant;

// Requantization constants of one output tensor: M per channel (double and float32), the
// output zero point and range.
struct Requant {
  const double* m = nullptr;
  const float* m_f = nullptr;
  int32_t zp = 0;
  quant::QRange range{0, 255};
};

// One value.
template <typename Q>
inline Q requantize_one(int32_t acc, double m, float m_f, int32_t zp, quant::QRange r) {
  if (acc >= (1 << 29) || acc <= -(1 << 29)) return static_cast<Q>(quant::requantize(acc, m_f, zp, r));
  // nearbyint rounds half to even in the default rounding mode, which hone never changes.
  double v = std::nearbyint(static_cast<double>(acc) * m);
  v = v < r.lo - zp ? r.lo - zp : (v > r.hi - zp ? r.hi - zp : v);
  return static_cast<Q>(static_cast<int32_t>(v) + zp);
}

// GCC 12 reports the intrinsics' deliberately undefined pass-through operands as uninitialised.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Sixteen channels: acc[i] for channels c .. c + 15 (q.m / q.m_f point at channel c). Returns
// the 16 output bytes. AVX-512F only.
template <typename Q>
__attribute__((target("avx512f"), always_inline)) inline __m128i requantize16(__m512i acc, const Requant& q) {
  const __m512i limit = _mm512_set1_epi32(1 << 29);
  if (__builtin_expect(_mm512_cmpge_epu32_mask(_mm512_abs_epi32(acc), limit) != 0, 0)) {
    alignas(64) int32_t a[16];
    alignas(16) Q y[16];
    _mm512_store_si512(a, acc);
    for (int i = 0; i < 16; ++i) y[i] = requantize_one<Q>(a[i], q.m[i], q.m_f[i], q.zp, q.range);
    return _mm_load_si128(reinterpret_cast<const __m128i*>(y));
  }
  const __m512d lo = _mm512_set1_pd(q.range.lo - q.zp), hi = _mm512_set1_pd(q.range.hi - q.zp);
  __m512d v0 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(acc)), _mm512_loadu_pd(q.m));
  __m512d v1 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(acc, 1)), _mm512_loadu_pd(q.m + 8));
  v0 = _mm512_min_pd(_mm512_max_pd(_mm512_roundscale_pd(v0, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), lo), hi);
  v1 = _mm512_min_pd(_mm512_max_pd(_mm512_roundscale_pd(v1, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), lo), hi);
  const __m512i y = _mm512_add_epi32(
      _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtpd_epi32(v0)), _mm512_cvtpd_epi32(v1), 1),
      _mm512_set1_epi32(q.zp));
  if constexpr (std::is_same_v<Q, int8_t>) {
    return _mm512_cvtsepi32_epi8(y);
  } else {
    return _mm512_cvtusepi32_epi8(y);
  }
}

// The same under two preconditions prepare checks: every M < 2 (so |round(acc * M) + zp| stays
// below 2^31 and vcvtpd2dq can round and convert in one step) and, unless kGuard, |acc| < 2^29
// for every possible input (a bound from the weights and bias). About half the instructions of
// requantize16, which matters when a convolution does few multiply-adds per output (1x1 layers
// with few input channels, depthwise). Returns round(acc * M) + zp as int32, not yet saturated
// (a saturating narrow to Q finishes it).
template <typename Q, bool kGuard>
__attribute__((target("avx512f"), always_inline)) inline __m512i requantize16_wide(__m512i acc, const Requant& q) {
  if (kGuard) {
    if (__builtin_expect(_mm512_cmpge_epu32_mask(_mm512_abs_epi32(acc), _mm512_set1_epi32(1 << 29)) != 0, 0)) {
      // The exact path, widened back (its values are already in Q's range).
      const __m128i y = requantize16<Q>(acc, q);
      return std::is_same_v<Q, int8_t> ? _mm512_cvtepi8_epi32(y) : _mm512_cvtepu8_epi32(y);
    }
  }
  const __m512d v0 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(acc)), _mm512_loadu_pd(q.m));
  const __m512d v1 = _mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(acc, 1)), _mm512_loadu_pd(q.m + 8));
  constexpr int kNearest = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m512i y = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvt_roundpd_epi32(v0, kNearest)),
                                       _mm512_cvt_roundpd_epi32(v1, kNearest), 1);
  return _mm512_add_epi32(y, _mm512_set1_epi32(q.zp));
}

// requantize16_wide narrowed to the 16 output bytes. The saturating narrows clamp to the
// type's range ([0, 255] needs the negatives cut first).
template <typename Q, bool kGuard>
__attribute__((target("avx512f"), always_inline)) inline __m128i requantize16_fast(__m512i acc, const Requant& q) {
  const __m512i y = requantize16_wide<Q, kGuard>(acc, q);
  if constexpr (std::is_same_v<Q, int8_t>) {
    return _mm512_cvtsepi32_epi8(y);
  } else {
    return _mm512_cvtusepi32_epi8(_mm512_max_epi32(y, _mm512_setzero_si512()));
  }
}

#pragma GCC diagnostic pop

}  // namespace hone::runtime::cpu
