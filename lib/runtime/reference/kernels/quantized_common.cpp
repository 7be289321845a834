#include "runtime/reference/kernels/quantized_common.h"

#include "runtime/reference/kernel_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace hone::runtime::reference::quant {

QRange qrange(ir::DType t) {
  switch (t) {
    case ir::DType::Int8:
      return {-128, 127};
    case ir::DType::UInt8:
      return {0, 255};
    default:
      throw internal_error("qrange: {} is not a quantized type", ir::dtype_name(t));
  }
}

double round_half_even(double v) {
  if (!std::isfinite(v)) return v;
  // Rounding half to even is symmetric: round |v|, then restore the sign.
  const double a = std::fabs(v);
  const double lo = std::floor(a);
  const double frac = a - lo;  // exact: lo = 0, or lo <= a < 2 * lo (Sterbenz)
  double r = lo + 1.0;         // lo + 1 is exact: a non-integral double is below 2^52
  if (frac < 0.5 || (frac == 0.5 && std::fmod(lo, 2.0) == 0.0)) r = lo;
  return std::copysign(r, v);
}

int32_t quantize_value(double v, int32_t zero_point, QRange r) {
  if (std::isnan(v)) return zero_point;
  // round(v) + zp is exact whenever it can land inside r; larger values saturate either way.
  const double q = round_half_even(v) + static_cast<double>(zero_point);
  return static_cast<int32_t>(std::clamp(q, static_cast<double>(r.lo), static_cast<double>(r.hi)));
}

float requant_multiplier(float a_scale, float b_scale, float y_scale) {
  const float ab = a_scale * b_scale;  // float32 product, rounded to nearest even
  return ab / y_scale;                 // float32 quotient, rounded to nearest even
}

namespace {
// round_half_even(p / 2^shift) for 1 <= shift <= 62, in integers.
int64_t rounding_shift_right(int64_t p, int shift) {
  const int64_t q = p >> shift;  // floor division (C++20 defines >> on negatives as arithmetic)
  const int64_t rem = p - q * (int64_t{1} << shift);  // in [0, 2^shift)
  const int64_t half = int64_t{1} << (shift - 1);
  return (rem > half || (rem == half && (q & 1) != 0)) ? q + 1 : q;
}
}  // namespace

int32_t requantize(int32_t acc, float multiplier, int32_t zero_point, QRange r) {
  HONE_ASSERT(std::isfinite(multiplier) && multiplier >= 0.0f);
  if (acc == 0 || multiplier == 0.0f) return std::clamp(zero_point, r.lo, r.hi);
  // multiplier = frac * 2^exp with frac in [0.5, 1); m = frac * 2^24 is an integer in
  // [2^23, 2^24) because a float32 significand has 24 bits (subnormals have fewer).
  int exp = 0;
  const double frac = std::frexp(static_cast<double>(multiplier), &exp);
  const auto m = static_cast<int64_t>(std::ldexp(frac, 24));
  const int64_t p = int64_t{acc} * m;  // |p| < 2^31 * 2^24: exact
  const int shift = 24 - exp;          // acc * multiplier == p * 2^-shift exactly
  int64_t q = 0;  // round_half_even(p * 2^-shift)
  if (shift >= 63) {
    q = 0;  // |p| * 2^-shift < 2^55 * 2^-63 < 0.5
  } else if (shift > 0) {
    q = rounding_shift_right(p, shift);
  } else if (shift >= -8) {
    q = p * (int64_t{1} << -shift);  // |q| < 2^55 * 2^8: exact
  } else {
    return p > 0 ? r.hi : r.lo;  // |acc * multiplier| >= 2^23 * 2^9: beyond any int32 range
  }
  // Clamping q to +-2^40 first changes no int32 result and keeps q + zero_point in range.
  constexpr int64_t kBound = int64_t{1} << 40;
  q = std::clamp(q, -kBound, kBound);
  return static_cast<int32_t>(std::clamp<int64_t>(q + zero_point, r.lo, r.hi));
}

std::vector<int32_t> to_int32(const ir::Tensor& t) {
  std::vector<int32_t> v(static_cast<size_t>(t.numel()));
  auto widen = [&]<typename T>() {
    auto s = t.span<T>();
    std::copy(s.begin(), s.end(), v.begin());
  };
  switch (t.dtype()) {
    case ir::DType::Int8:
      widen.template operator()<int8_t>();
      break;
    case ir::DType::UInt8:
      widen.template operator()<uint8_t>();
      break;
    case ir::DType::Int32:
      widen.template operator()<int32_t>();
      break;
    default:
      throw unsupported("dtype {} is not a quantized integer type", ir::dtype_name(t.dtype()));
  }
  return v;
}

ir::Tensor from_int32(ir::DType dt, ir::Shape shape, const std::vector<int32_t>& v) {
  ir::Tensor t = ir::Tensor::zeros(dt, std::move(shape));
  HONE_ASSERT(static_cast<size_t>(t.numel()) == v.size());
  auto narrow = [&]<typename T>() {
    T* out = t.data<T>();
    for (size_t i = 0; i < v.size(); ++i) {
      HONE_ASSERT(v[i] >= std::numeric_limits<T>::min() && v[i] <= std::numeric_limits<T>::max());
      out[i] = static_cast<T>(v[i]);
    }
  };
  switch (dt) {
    case ir::DType::Int8:
      narrow.template operator()<int8_t>();
      break;
    case ir::DType::UInt8:
      narrow.template operator()<uint8_t>();
      break;
    case ir::DType::Int32:
      narrow.template operator()<int32_t>();
      break;
    default:
      throw internal_error("from_int32: {} is not a quantized type", ir::dtype_name(dt));
  }
  return t;
}

namespace {
// 1 for a per-tensor parameter (rank 0, or 1-D of one element), n for a 1-D tensor of n values.
void check_param_shape(const ir::Tensor& t, const char* what, int64_t n) {
  const bool one = t.numel() == 1 && t.rank() <= 1;
  const bool per_axis = n > 0 && t.rank() == 1 && t.numel() == n;
  if (one || per_axis) return;
  if (n > 0) {
    throw bad_input("{} has shape {}; expected a scalar or a 1-D tensor of {} values", what,
                    ir::shape_str(t.shape()), n);
  }
  throw bad_input("{} has shape {}; expected a scalar (per-tensor quantization)", what,
                  ir::shape_str(t.shape()));
}
}  // namespace

std::vector<float> scale_values(const ir::Tensor& t, const char* what, ScaleRule rule) {
  if (t.dtype() != ir::DType::Float32) {
    throw bad_input("{} has dtype {}; expected float32", what, ir::dtype_name(t.dtype()));
  }
  auto s = t.span<float>();
  for (float v : s) {
    if (!std::isfinite(v) || (rule == ScaleRule::Positive && !(v > 0.0f))) {
      throw bad_input("{} holds {}; a scale must be {}", what, v,
                      rule == ScaleRule::Positive ? "finite and > 0" : "finite");
    }
  }
  return {s.begin(), s.end()};
}

void check_zero_point_dtype(const ir::Tensor& zp, const char* what, ir::DType data_dtype) {
  if (zp.dtype() != data_dtype) {
    throw bad_input("{} has dtype {}, but the data it belongs to has dtype {}", what,
                    ir::dtype_name(zp.dtype()), ir::dtype_name(data_dtype));
  }
}

ChannelParam<float> read_scale(const ir::Tensor& t, const char* what, int64_t n, ScaleRule rule) {
  std::vector<float> v = scale_values(t, what, rule);
  check_param_shape(t, what, n);
  return {std::move(v)};
}

ChannelParam<int32_t> read_zero_point(const ir::Tensor* t, const char* what, ir::DType data_dtype,
                                      int64_t n) {
  if (!t) return {{0}};
  check_zero_point_dtype(*t, what, data_dtype);
  check_param_shape(*t, what, n);
  return {to_int32(*t)};
}

void require_same_count(const ChannelParam<float>& scale, const ChannelParam<int32_t>& zp,
                        const ir::Tensor* zp_tensor, const char* scale_name, const char* zp_name) {
  if (zp_tensor && scale.size() != zp.size()) {
    throw bad_input("{} has {} values but {} has {}; they must have the same shape", zp_name,
                    zp.size(), scale_name, scale.size());
  }
}

float checked_multiplier(float a_scale, float b_scale, float y_scale) {
  const float m = requant_multiplier(a_scale, b_scale, y_scale);
  if (!std::isfinite(m)) {
    throw bad_input("requantization multiplier {} * {} / {} is not a finite float32", a_scale,
                    b_scale, y_scale);
  }
  return m;
}

void require_same_dtype(const KernelInfo& info, size_t zp, size_t data) {
  const ir::DType z = info.input_dtype(zp);
  const ir::DType d = info.input_dtype(data);
  if (z != ir::DType::Undefined && d != ir::DType::Undefined && z != d) {
    throw bad_input("input {} (zero point) has dtype {}, but input {} has dtype {}", zp,
                    ir::dtype_name(z), data, ir::dtype_name(d));
  }
}

}  // namespace hone::runtime::reference::quant
