// The vectorized kernel ops, written once: exp, the activations, the products' epilogue, the fp32,
// int8 and bf16 products, softmax rows, LayerNorm and the int8 quantization of activations. Each
// is written against a vector type V (kernels/vec_*.hpp: lanes, loads and stores with a row tail,
// arithmetic, reductions, the dot-product step of each precision) and compiled once per instruction
// set: kernels/simd.hpp includes this file several times, each time inside the namespace
// ALBERTNER_KERNEL_NS with V = ALBERTNER_KERNEL_VEC and every function carrying the target
// attribute ALBERTNER_KERNEL (ALBERTNER_KERNEL_DOTS for the products, which may also use the
// instruction set's dot-product extensions). A new instruction set is one vec_*.hpp file and one
// more inclusion (in the spirit of CTranslate2's Vec<ISA> and Highway's per-target re-inclusion).
//
// Every instruction set computes the products' sums in the same order (one fused multiply-add per
// step of depth, for each lane), the same exp and GELU and the same epilogue, so the fp32, bf16 and
// int8 products give the same floats everywhere; softmax and LayerNorm sum their rows over as many
// lanes as the vector has, so those may differ in the last bit between instruction sets.
//
// No include guard: included once per instruction set, by kernels/simd.hpp only.

#ifndef ALBERTNER_KERNEL_NS
#error "kernels/ops.hpp is included by kernels/simd.hpp, once per instruction set"
#endif

namespace albertner {
namespace detail {
namespace ALBERTNER_KERNEL_NS {

using V = ALBERTNER_KERNEL_VEC;
using F = V::F;

/// e^x within ~1 ulp: x = n ln2 + r with |r| <= ln2/2, a degree-7 Taylor polynomial for e^r and
/// an exact scaling by 2^n, which also gives denormals, 0 and inf where expf does. NaN stays NaN
/// (the clamps keep their NaN operand second).
ALBERTNER_KERNEL inline F exp(F x) {
  const F clamped = V::min(V::set1(kExpHighest), V::max(V::set1(kExpLowest), x));
  const F n = V::round(V::mul(clamped, V::set1(kLog2e)));
  F r = V::fnma(n, V::set1(kLn2High), clamped); // an exact product
  r = V::fnma(n, V::set1(kLn2Low), r);
  F p = V::set1(kExpTaylor[0]);
  for (std::size_t i = 1; i < sizeof kExpTaylor / sizeof(float); ++i) p = V::fma(p, r, V::set1(kExpTaylor[i]));
  return V::scale_pow2(p, n);
}

/// x * sigmoid(2u) = 0.5 x (1 + tanh(u)), the identity behind the tanh GELUs; it keeps full relative
/// precision where 1 + tanh(u) cancels.
ALBERTNER_KERNEL inline F x_sigmoid_2u(F x, F u) {
  const F e = exp(V::mul(u, V::set1(-2.0f)));
  return V::div(x, V::add(V::set1(1.0f), e));
}

/// The activations of detail::apply_activation, a vector at a time.
ALBERTNER_KERNEL inline F activate(activation act, F x) {
  switch (act) {
  case activation::gelu_new: {
    const F x3 = V::mul(V::mul(x, x), x);
    const F inner = V::fma(V::set1(0.044715f), x3, x);
    return x_sigmoid_2u(x, V::mul(V::set1(0.7978845608028654f), inner));
  }
  case activation::gelu_fast: {
    const F poly = V::fma(V::mul(V::set1(0.044715f), x), x, V::set1(1.0f));
    return x_sigmoid_2u(x, V::mul(V::mul(x, V::set1(0.7978845608f)), poly));
  }
  case activation::gelu: {
    // x * (1 - erfc(x / sqrt 2) / 2) with kErfcChebyshev, so small GELU outputs keep their
    // relative precision.
    const F z = V::abs(V::mul(x, V::set1(0.70710678118654752440f)));
    const F t = V::div(V::set1(1.0f), V::fma(V::set1(0.5f), z, V::set1(1.0f)));
    F p = V::set1(kErfcChebyshev[0]);
    for (std::size_t i = 1; i < sizeof kErfcChebyshev / sizeof(float); ++i)
      p = V::fma(p, t, V::set1(kErfcChebyshev[i]));
    const F half_erfc_abs = V::mul(V::mul(V::set1(0.5f), t), exp(V::fnma(z, z, p)));
    // x >= 0: erfc(z) = ans; x < 0: erfc = 2 - ans, so the factor is ans / 2.
    return V::mul(x, V::select_negative(x, half_erfc_abs, V::sub(V::set1(1.0f), half_erfc_abs)));
  }
  case activation::relu: return V::max(V::zero(), x); // NaN passes, as in torch.relu
  }
  return x;
}

/// The epilogue of one vector of row r at column n0 (t: its real lanes): / divisor, + bias, the
/// activation, + residual, stored into c.
ALBERTNER_KERNEL inline void finish(const MatmulF32& m, F y, std::int64_t r, std::int64_t n0, V::Tail t) {
  if (m.divisor != 1.0f) {
    const float reciprocal = exact_reciprocal(m.divisor);
    y = reciprocal != 0.0f ? V::mul(y, V::set1(reciprocal)) : V::div(y, V::set1(m.divisor));
  }
  if (m.bias) y = V::add(y, V::load(m.bias + n0, t));
  if (m.fused_act) y = activate(m.act, y);
  if (m.residual) y = V::add(y, V::load(m.residual + r * m.ldr + n0, t));
  V::store(m.c + r * m.ldc + n0, y, t);
}

/// Registers per 16-column panel.
constexpr int kPanelVectors = static_cast<int>(kPanelWidth) / V::kWidth;

/// Where the vector j of a tile's panels starts, in columns from p0's first.
constexpr std::int64_t tile_column(int j) {
  return (j / kPanelVectors) * kPanelWidth + (j % kPanelVectors) * V::kWidth;
}

/// The epilogue of an R x P tile whose vectors `acc` hold finished sums, columns past m.cols skipped.
template <int R, int P>
ALBERTNER_KERNEL inline void finish_tile(const MatmulF32& m, F (&acc)[R][P * kPanelVectors], std::int64_t r0,
                                         std::int64_t p0) {
  for (int j = 0; j < P * kPanelVectors; ++j) {
    const std::int64_t n0 = p0 * kPanelWidth + tile_column(j);
    if (n0 >= m.cols) break;
    const V::Tail t = V::tail(m.cols - n0);
    for (int i = 0; i < R; ++i) finish(m, acc[i][j], r0 + i, n0, t);
  }
}

/// Rows [r0, r0 + R) x panels [p0, p0 + P) of the fp32 product m (m.packed), epilogue included:
/// R x P panels of accumulators, each step one panel row per panel and one broadcast per row, so
/// the loads stay well below the FMAs. Where V::kPrefetch, the first `ahead` steps also prefetch
/// one cache line each from `next` on, and the epilogue's lines of c and of the residual (last
/// touched a whole product ago) are fetched first, to arrive while the sums run.
template <int R, int P>
ALBERTNER_KERNEL_DOTS inline void tile_f32(const MatmulF32& m, std::int64_t r0, std::int64_t p0, const float* next,
                                           std::int64_t ahead) {
  const std::int64_t K = m.depth;
  const float* panel = m.packed + p0 * K * kPanelWidth;
  const float* a = m.a + r0 * m.lda;
  if constexpr (V::kPrefetch) {
    // The first and the last float of each row's columns: 64 bytes may straddle two lines.
    const std::int64_t n0 = p0 * kPanelWidth, last = std::min(P * kPanelWidth, m.cols - n0) - 1;
    for (int i = 0; i < R; ++i) {
      const float* dst = m.c + (r0 + i) * m.ldc + n0;
      __builtin_prefetch(dst, 0, 3);
      __builtin_prefetch(dst + last, 0, 3);
      if (!m.residual) continue;
      const float* res = m.residual + (r0 + i) * m.ldr + n0;
      __builtin_prefetch(res, 0, 3);
      __builtin_prefetch(res + last, 0, 3);
    }
  }
  F acc[R][P * kPanelVectors];
  for (auto& row : acc)
    for (auto& x : row) x = V::zero();
  for (std::int64_t k = 0; k < K; ++k, panel += kPanelWidth) {
    if constexpr (V::kPrefetch)
      if (k < ahead) __builtin_prefetch(next + k * kPanelWidth, 0, 3);
    F w[P * kPanelVectors];
#pragma GCC unroll 8
    for (int j = 0; j < P * kPanelVectors; ++j)
      w[j] = V::load(panel + (j / kPanelVectors) * K * kPanelWidth + (j % kPanelVectors) * V::kWidth);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const F x = V::set1(a[i * m.lda + k]);
#pragma GCC unroll 8
      for (int j = 0; j < P * kPanelVectors; ++j) acc[i][j] = V::fma(x, w[j], acc[i][j]);
    }
  }
  finish_tile<R, P>(m, acc, r0, p0);
}

/// Rows [r0, r0 + R) x panels [p0, p0 + P) of the int8 product m (m.packed_i8, m.w_colsum,
/// m.a_u8): R x P panels of int32 accumulators, each step one 32-bit group of four activations
/// per row dotted with four weights per lane (V::int8_dot, exact), then back to floats with the
/// column sums (where V's activations are unsigned) and both scales.
template <int R, int P>
ALBERTNER_KERNEL_DOTS inline void tile_int8(const MatmulF32& m, std::int64_t r0, std::int64_t p0) {
  const std::int64_t steps = (m.depth + 3) / 4;
  const unsigned char* panel = reinterpret_cast<const unsigned char*>(m.packed_i8) + p0 * steps * 4 * kPanelWidth;
  const unsigned char* a = m.a_u8 + r0 * m.lda_u8;
  V::I acc[R][P * kPanelVectors];
  for (auto& row : acc)
    for (auto& x : row) x = V::izero();
  for (std::int64_t k = 0; k < steps; ++k, panel += 4 * kPanelWidth) {
    V::Int8Weights w[P * kPanelVectors];
#pragma GCC unroll 8
    for (int j = 0; j < P * kPanelVectors; ++j)
      w[j] =
          V::int8_weights(panel + (j / kPanelVectors) * steps * 4 * kPanelWidth + (j % kPanelVectors) * 4 * V::kWidth);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, a + i * m.lda_u8 + 4 * k, sizeof bits);
      const V::Int8Activations x = V::int8_activations(bits);
#pragma GCC unroll 8
      for (int j = 0; j < P * kPanelVectors; ++j) acc[i][j] = V::int8_dot(acc[i][j], x, w[j]);
    }
  }
  for (int j = 0; j < P * kPanelVectors; ++j) {
    const std::int64_t n0 = p0 * kPanelWidth + tile_column(j);
    if (n0 >= m.cols) break;
    const V::Tail t = V::tail(m.cols - n0);
    // sum (q + 128) w = sum q w + 128 colsum
    const V::I offset = V::kInt8Unsigned ? V::int8_offset(m.w_colsum + n0, t) : V::izero();
    const F w_scale = V::load(m.w_scale + n0, t);
    for (int i = 0; i < R; ++i) {
      const F sum = V::int8_to_float(acc[i][j], offset);
      finish(m, V::mul(sum, V::mul(w_scale, V::set1(m.a_scale[r0 + i]))), r0 + i, n0, t);
    }
  }
}

/// Rows [r0, r0 + R) x panels [p0, p0 + P) of the bf16 product m (m.packed_bf16, m.a_bf16): each
/// step a pair of k, one bf16 dot product per panel vector (two multiply-adds per lane, float
/// accumulation). Only where V has bf16 dot products (W, a template parameter, defers the check).
template <int R, int P, class W = V>
ALBERTNER_KERNEL_DOTS inline void tile_bf16(const MatmulF32& m, std::int64_t r0, std::int64_t p0) {
  const std::int64_t steps = (m.depth + 1) / 2;
  const unsigned char* panel = reinterpret_cast<const unsigned char*>(m.packed_bf16) + p0 * steps * 4 * kPanelWidth;
  const unsigned char* a = reinterpret_cast<const unsigned char*>(m.a_bf16 + r0 * m.lda_bf16);
  F acc[R][P * kPanelVectors];
  for (auto& row : acc)
    for (auto& x : row) x = W::zero();
  for (std::int64_t k = 0; k < steps; ++k, panel += 4 * kPanelWidth) {
    typename W::I w[P * kPanelVectors];
#pragma GCC unroll 8
    for (int j = 0; j < P * kPanelVectors; ++j)
      w[j] = W::load_bits(panel + (j / kPanelVectors) * steps * 4 * kPanelWidth + (j % kPanelVectors) * 4 * W::kWidth);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, a + i * 2 * m.lda_bf16 + 4 * k, sizeof bits);
      const typename W::I x = W::broadcast_bits(bits);
#pragma GCC unroll 8
      for (int j = 0; j < P * kPanelVectors; ++j) acc[i][j] = W::bf16_dot(acc[i][j], x, w[j]);
    }
  }
  finish_tile<R, P>(m, acc, r0, p0);
}

/// What a product multiplies: floats (m.packed), int8 quads (m.packed_i8) or bf16 pairs
/// (m.packed_bf16).
enum class Operands { f32, int8, bf16 };

template <Operands O>
struct TileShape { // rows and panels per tile, rows per block (the rows that stream past a panel in L2)
  static constexpr int kRows = O == Operands::int8 ? V::kInt8Rows : V::kF32Rows;
  static constexpr int kPanels = O == Operands::int8 ? V::kInt8Panels : V::kF32Panels;
  static constexpr std::int64_t kRowBlock = O == Operands::int8 ? V::kInt8RowBlock : 192;
};

template <Operands O, int R, int P>
ALBERTNER_KERNEL_DOTS inline void tile(const MatmulF32& m, std::int64_t r0, std::int64_t p0, const float* next,
                                       std::int64_t ahead) {
  if constexpr (O == Operands::int8) tile_int8<R, P>(m, r0, p0);
  else if constexpr (O == Operands::bf16) tile_bf16<R, P>(m, r0, p0);
  else tile_f32<R, P>(m, r0, p0, next, ahead);
}

/// The last tile of a row block, `rows` (fewer than a tile's) high.
template <Operands O, int P, int R = 1>
ALBERTNER_KERNEL_DOTS inline void last_tile(std::int64_t rows, const MatmulF32& m, std::int64_t r0, std::int64_t p0,
                                            const float* next, std::int64_t ahead) {
  if constexpr (R < TileShape<O>::kRows) {
    if (rows == R) return tile<O, R, P>(m, r0, p0, next, ahead);
    last_tile<O, P, R + 1>(rows, m, r0, p0, next, ahead);
  }
}

/// Rows [r_begin, r_end) of panels [p0, p0 + P): tiles down the rows. Where V::kPrefetch, the
/// tiles share out the prefetching of the next panels (fp32 only).
template <Operands O, int P>
ALBERTNER_KERNEL_DOTS inline void panel_rows(const MatmulF32& m, std::int64_t r_begin, std::int64_t r_end,
                                             std::int64_t p0, std::int64_t p_end) {
  constexpr int R = TileShape<O>::kRows;
  const float* next = nullptr;
  std::int64_t lines = 0; // one 64-byte line per step of depth
  if constexpr (O == Operands::f32 && V::kPrefetch) {
    if (p0 + P < p_end) {
      next = m.packed + (p0 + P) * m.depth * kPanelWidth;
      lines = P * m.depth;
    }
  }
  const std::int64_t tiles = (r_end - r_begin + R - 1) / R;
  for (std::int64_t t = 0, r = r_begin; r < r_end; ++t, r += R) {
    const float* from = next ? next + lines * t / tiles * kPanelWidth : nullptr;
    const std::int64_t ahead = lines * (t + 1) / tiles - lines * t / tiles;
    if (r_end - r >= R) tile<O, R, P>(m, r, p0, from, ahead);
    else last_tile<O, P>(r_end - r, m, r, p0, from, ahead);
  }
}

/// Panels [p_begin, p_end) of the product m. A block of rows streams past each group of panels
/// while the panels stay in L2; row blocks of 192 keep a (and c) in L2 as well.
template <Operands O>
ALBERTNER_KERNEL_DOTS inline void product(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  constexpr int P = TileShape<O>::kPanels;
  constexpr std::int64_t block = TileShape<O>::kRowBlock;
  for (std::int64_t rb = 0; rb < m.rows; rb += block) {
    const std::int64_t re = m.rows - rb > block ? rb + block : m.rows;
    std::int64_t p0 = p_begin;
    for (; p0 + P <= p_end; p0 += P) panel_rows<O, P>(m, rb, re, p0, p_end);
    for (; p0 < p_end; ++p0) panel_rows<O, 1>(m, rb, re, p0, p_end);
    if (m.rows - rb <= block) break;
  }
}

/// Panels [p_begin, p_end) of the fp32 product m (m.packed set).
ALBERTNER_KERNEL_DOTS inline void matmul_f32(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  product<Operands::f32>(m, p_begin, p_end);
}

/// Panels [p_begin, p_end) of the int8 product m (m.packed_i8, m.w_colsum set).
ALBERTNER_KERNEL_DOTS inline void matmul_int8(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  product<Operands::int8>(m, p_begin, p_end);
}

/// Panels [p_begin, p_end) of the bf16 product m (m.packed_bf16, m.a_bf16 set); only where
/// V::kBf16Dots.
template <class W = V>
ALBERTNER_KERNEL_DOTS inline void matmul_bf16(const MatmulF32& m, std::int64_t p_begin, std::int64_t p_end) {
  static_assert(W::kBf16Dots, "no bf16 dot products on this instruction set");
  product<Operands::bf16>(m, p_begin, p_end);
}

/// detail::quantize_rows_u8_portable with the same arithmetic, a vector at a time.
ALBERTNER_KERNEL inline void quantize_rows_u8(const float* a, std::int64_t rows, std::int64_t cols, std::int64_t lda,
                                              std::uint8_t* out, std::int64_t ld, float* scales) {
  for (std::int64_t r = 0; r < rows; ++r, a += lda, out += ld) {
    F top = V::zero();
    for (std::int64_t c = 0; c < cols; c += V::kWidth)
      top = V::max(top, V::abs(V::load_finite(a + c, V::tail(cols - c))));
    const float largest = V::reduce_max(top);
    scales[r] = largest / 127.0f;
    const F inverse = V::set1(largest > 0.0f ? 127.0f / largest : 0.0f);
    for (std::int64_t c = 0; c < ld; c += V::kWidth) {
      F v = V::round(V::mul(V::load_finite(a + c, V::tail(cols - c)), inverse));
      v = V::min(V::set1(127.0f), V::max(V::set1(-127.0f), v));
      V::store_biased_u8(out + c, v, ld - c);
    }
  }
}

/// Each of `rows` rows of x ([rows, cols], leading dimension ld) becomes its softmax:
/// exp(v - max) / sum, as torch computes it.
ALBERTNER_KERNEL inline void softmax_rows(float* x, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    F mx = V::set1(-__builtin_inff());
    for (std::int64_t c = 0; c < cols; c += V::kWidth)
      mx = V::max(mx, V::load_or(row + c, V::tail(cols - c), -__builtin_inff()));
    const F max = V::set1(V::reduce_max(mx));
    F sum = V::zero();
    for (std::int64_t c = 0; c < cols; c += V::kWidth) {
      const V::Tail t = V::tail(cols - c);
      const F e = exp(V::sub(V::load(row + c, t), max));
      V::store(row + c, e, t);
      sum = V::add(sum, V::zero_past(e, t));
    }
    const F total = V::set1(V::reduce_add(sum));
    for (std::int64_t c = 0; c < cols; c += V::kWidth) {
      const V::Tail t = V::tail(cols - c);
      V::store(row + c, V::div(V::load(row + c, t), total), t);
    }
  }
}

/// detail::layer_norm_rows_portable, with the moments accumulated in double, as many lanes at a
/// time as V holds.
ALBERTNER_KERNEL inline void layer_norm_rows(float* x, std::int64_t rows, std::int64_t cols, const float* gamma,
                                             const float* beta, double eps) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * cols;
    V::D sum = V::dzero();
    for (std::int64_t c = 0; c < cols; c += V::kWidth) sum = V::add_widened(sum, V::load(row + c, V::tail(cols - c)));
    const double mean = V::dreduce_add(sum) / static_cast<double>(cols);
    const V::D m = V::dset1(mean);
    V::D squares = V::dzero();
    for (std::int64_t c = 0; c < cols; c += V::kWidth) {
      const V::Tail t = V::tail(cols - c);
      squares = V::add_squares_widened(squares, V::load(row + c, t), m, t);
    }
    const double rstd = 1.0 / __builtin_sqrt(V::dreduce_add(squares) / static_cast<double>(cols) + eps);
    const F scale = V::set1(static_cast<float>(rstd));
    const F shift = V::set1(static_cast<float>(-mean * rstd));
    for (std::int64_t c = 0; c < cols; c += V::kWidth) {
      const V::Tail t = V::tail(cols - c);
      const F v = V::fma(V::load(row + c, t), scale, shift);
      V::store(row + c, V::fma(v, V::load(gamma + c, t), V::load(beta + c, t)), t);
    }
  }
}

} // namespace ALBERTNER_KERNEL_NS
} // namespace detail
} // namespace albertner
