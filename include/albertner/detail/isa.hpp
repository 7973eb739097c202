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
/// give it) and exists on every platform; `avx512` needs AVX-512 F/DQ/BW/VL and FMA.
enum class KernelIsa { portable, avx512 };

inline const char* kernel_isa_name(KernelIsa isa) noexcept { return isa == KernelIsa::avx512 ? "avx512" : "portable"; }

namespace detail {

inline KernelIsa detect_kernel_isa() noexcept {
#if ALBERTNER_X86_KERNELS
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
    return KernelIsa::avx512;
#endif
  return KernelIsa::portable;
}

/// The best the CPU supports, or less when the environment variable ALBERTNER_ISA says
/// `portable` (tests run every golden check on both paths; users can rule a kernel out).
/// Read once: the choice cannot change under a running encoder.
inline KernelIsa active_kernel_isa() noexcept {
  static const KernelIsa isa = [] {
    const KernelIsa best = detect_kernel_isa();
    const char* forced = std::getenv("ALBERTNER_ISA");
    if (forced && std::strcmp(forced, "portable") == 0) return KernelIsa::portable;
    return best;
  }();
  return isa;
}

} // namespace detail

/// The instruction set the encoder's kernels run with in this process.
inline KernelIsa kernel_isa() noexcept { return detail::active_kernel_isa(); }

} // namespace albertner
