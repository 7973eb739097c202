// Which instruction set the fp32 kernels use, chosen once at run time: the library is header-only
// and built with the user's flags (often no -march at all), so the fast kernels carry their own
// target attributes and are picked by what the CPU reports.
#pragma once

#include <cstdlib>
#include <cstring>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define ALBERTNER_X86_KERNELS 1
#else
#define ALBERTNER_X86_KERNELS 0
#endif

namespace albertner {

/// The kernels' instruction set. `portable` is plain C++ over Eigen (whatever the compiler flags
/// give it) and exists on every platform; `avx512` needs AVX-512 F/DQ/BW/VL and FMA;
/// `avx512_bf16` is `avx512` plus the BF16 dot products that bf16 model files run on (fp32
/// files compute the same on both).
enum class KernelIsa { portable, avx512, avx512_bf16 };

inline const char* kernel_isa_name(KernelIsa isa) noexcept {
  switch (isa) {
  case KernelIsa::avx512: return "avx512";
  case KernelIsa::avx512_bf16: return "avx512_bf16";
  default: return "portable";
  }
}

namespace detail {

inline KernelIsa detect_kernel_isa() noexcept {
#if ALBERTNER_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return __builtin_cpu_supports("avx512bf16") ? KernelIsa::avx512_bf16 : KernelIsa::avx512;
#endif
  return KernelIsa::portable;
}

/// The best the CPU supports, or less when the environment variable ALBERTNER_ISA says
/// `portable` or `avx512` (tests run every golden check on each path; users can rule a kernel
/// out). Read once: the choice cannot change under a running encoder.
inline KernelIsa active_kernel_isa() noexcept {
  static const KernelIsa isa = [] {
    const KernelIsa best = detect_kernel_isa();
    const char* forced = std::getenv("ALBERTNER_ISA");
    if (forced && std::strcmp(forced, "portable") == 0) return KernelIsa::portable;
    if (forced && std::strcmp(forced, "avx512") == 0 && best == KernelIsa::avx512_bf16) return KernelIsa::avx512;
    return best;
  }();
  return isa;
}

/// Whether the AVX-512 kernels run (fp32 products read weights packed in panels).
inline bool avx512_kernels() noexcept { return active_kernel_isa() != KernelIsa::portable; }

/// Whether the products of an int8 model run as AVX-512 VNNI dot products: where the AVX-512
/// kernels run, the CPU has VNNI and ALBERTNER_ISA does not rule them out (`avx512` keeps the
/// fp32 ones only). Elsewhere a portable loop computes the same integer sums.
inline bool vnni_kernels() noexcept {
  static const bool vnni = [] {
#if ALBERTNER_X86_KERNELS
    const char* forced = std::getenv("ALBERTNER_ISA");
    return avx512_kernels() && __builtin_cpu_supports("avx512vnni") && !(forced && std::strcmp(forced, "avx512") == 0);
#else
    return false;
#endif
  }();
  return vnni;
}

} // namespace detail

/// The instruction set the encoder's kernels run with in this process.
inline KernelIsa kernel_isa() noexcept { return detail::active_kernel_isa(); }

} // namespace albertner
