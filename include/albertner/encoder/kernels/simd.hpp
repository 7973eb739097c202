// The vectorized kernels of every instruction set this compiler can target, from the one source
// kernels/ops.hpp: detail::avx512 (VecAvx512), detail::avx2 (VecAvx2), detail::avx_vnni (VecAvx2 with
// AVX-VNNI int8 dot products) on x86-64; detail::neon (VecNeon) and detail::neon_dot (with SDOT) on
// aarch64. detail::active_kernel_isa() and detail::active_int8_kernel() pick one at run time
// (fp32_kernels.hpp and layer_norm.hpp dispatch).
#pragma once

#include "../isa.hpp"
#include "../matmul_f32.hpp"
#include "../polynomials.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if ALBERTNER_X86_KERNELS

#include "vec_avx2.hpp"
#include "vec_avx512.hpp"

#define ALBERTNER_KERNEL_NS avx512
#define ALBERTNER_KERNEL_VEC VecAvx512
#define ALBERTNER_KERNEL ALBERTNER_AVX512
#define ALBERTNER_KERNEL_DOTS ALBERTNER_AVX512_DOTS
#include "ops.hpp"
#undef ALBERTNER_KERNEL_NS
#undef ALBERTNER_KERNEL_VEC
#undef ALBERTNER_KERNEL
#undef ALBERTNER_KERNEL_DOTS

#define ALBERTNER_KERNEL_NS avx2
#define ALBERTNER_KERNEL_VEC VecAvx2
#define ALBERTNER_KERNEL ALBERTNER_AVX2
#define ALBERTNER_KERNEL_DOTS ALBERTNER_AVX2
#include "ops.hpp"
#undef ALBERTNER_KERNEL_NS
#undef ALBERTNER_KERNEL_VEC
#undef ALBERTNER_KERNEL
#undef ALBERTNER_KERNEL_DOTS

// Only its int8 product is called.
#define ALBERTNER_KERNEL_NS avx_vnni
#define ALBERTNER_KERNEL_VEC VecAvxVnni
#define ALBERTNER_KERNEL ALBERTNER_AVX2
#define ALBERTNER_KERNEL_DOTS ALBERTNER_AVX_VNNI
#include "ops.hpp"
#undef ALBERTNER_KERNEL_NS
#undef ALBERTNER_KERNEL_VEC
#undef ALBERTNER_KERNEL
#undef ALBERTNER_KERNEL_DOTS

#endif // ALBERTNER_X86_KERNELS

#if ALBERTNER_NEON_KERNELS

#include "vec_neon.hpp"

#define ALBERTNER_KERNEL_NS neon
#define ALBERTNER_KERNEL_VEC VecNeon
#define ALBERTNER_KERNEL ALBERTNER_NEON
#define ALBERTNER_KERNEL_DOTS ALBERTNER_NEON
#include "ops.hpp"
#undef ALBERTNER_KERNEL_NS
#undef ALBERTNER_KERNEL_VEC
#undef ALBERTNER_KERNEL
#undef ALBERTNER_KERNEL_DOTS

// Only its int8 product is called.
#define ALBERTNER_KERNEL_NS neon_dot
#define ALBERTNER_KERNEL_VEC VecNeonDot
#define ALBERTNER_KERNEL ALBERTNER_NEON_DOT
#define ALBERTNER_KERNEL_DOTS ALBERTNER_NEON_DOT
#include "ops.hpp"
#undef ALBERTNER_KERNEL_NS
#undef ALBERTNER_KERNEL_VEC
#undef ALBERTNER_KERNEL
#undef ALBERTNER_KERNEL_DOTS

#endif // ALBERTNER_NEON_KERNELS
