// Which instruction set the fp32 kernels use, chosen once at run time: the library is header-only
// and built with the user's flags (often no -march at all), so the fast kernels carry their own
// target attributes and are picked by what the CPU reports.
#pragma once

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define ALBERTNER_X86_KERNELS 1
#include <cpuid.h>
#else
#define ALBERTNER_X86_KERNELS 0
#endif

#if defined(__aarch64__) && defined(__ARM_NEON) && (defined(__GNUC__) || defined(__clang__))
#define ALBERTNER_NEON_KERNELS 1
#if defined(__linux__)
#include <sys/auxv.h>
#endif
#else
#define ALBERTNER_NEON_KERNELS 0
#endif

namespace albertner {

/// The kernels' instruction set. `portable` is plain C++ over Eigen (whatever the compiler flags
/// give it) and exists on every platform; `avx2` (AVX2 and FMA) runs the matrix products, their
/// epilogues, softmax and LayerNorm with 256-bit kernels; `avx512` needs AVX-512 F/DQ/BW/VL and FMA;
/// `avx512_bf16` is `avx512` plus the BF16 dot products that bf16 model files run on (fp32
/// files compute the same on both). `neon` is 64-bit ARM's Advanced SIMD (every aarch64 CPU).
enum class KernelIsa { portable, avx2, avx512, avx512_bf16, neon };

/// The kernel that the matrix products of an int8 model file run on, chosen apart from KernelIsa
/// because int8 dot products exist without AVX-512: `avx512_vnni` (AVX-512 VNNI), `avx_vnni`
/// (the 256-bit AVX-VNNI of CPUs without AVX-512), `avx2` (exact int8 products from AVX2's 16-bit
/// multiply-adds, about a quarter of VNNI's rate) and `portable` (a plain loop). All four compute
/// the same int32 sums, so they give the same floats. On aarch64: `neon_dotprod` (SDOT, Armv8.2's
/// optional dot-product instructions) and `neon` (widening multiplies and pairwise adds).
enum class Int8Kernel { portable, avx2, avx_vnni, avx512_vnni, neon, neon_dotprod };

inline const char* kernel_isa_name(KernelIsa isa) noexcept {
  switch (isa) {
  case KernelIsa::avx2: return "avx2";
  case KernelIsa::avx512: return "avx512";
  case KernelIsa::avx512_bf16: return "avx512_bf16";
  case KernelIsa::neon: return "neon";
  default: return "portable";
  }
}

inline const char* int8_kernel_name(Int8Kernel kernel) noexcept {
  switch (kernel) {
  case Int8Kernel::avx2: return "avx2";
  case Int8Kernel::avx_vnni: return "avx_vnni";
  case Int8Kernel::avx512_vnni: return "avx512_vnni";
  case Int8Kernel::neon: return "neon";
  case Int8Kernel::neon_dotprod: return "neon_dotprod";
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
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return KernelIsa::avx2;
#elif ALBERTNER_NEON_KERNELS
  return KernelIsa::neon;
#endif
  return KernelIsa::portable;
}

/// The best the CPU supports, or less when the environment variable ALBERTNER_ISA says
/// `portable` (anywhere), `avx2` or `avx512` (x86-64; tests run every golden check on each path;
/// users can rule a kernel out). Read once: the choice cannot change under a running encoder.
inline KernelIsa active_kernel_isa() noexcept {
  static const KernelIsa isa = [] {
    const KernelIsa best = detect_kernel_isa();
    const char* forced = std::getenv("ALBERTNER_ISA");
    if (forced && std::strcmp(forced, "portable") == 0) return KernelIsa::portable;
    if (best == KernelIsa::neon) return best;
    for (KernelIsa lower : {KernelIsa::avx2, KernelIsa::avx512})
      if (forced && std::strcmp(forced, kernel_isa_name(lower)) == 0 && lower < best) return lower;
    return best;
  }();
  return isa;
}

/// Whether the vectorized kernels run, AVX2 or AVX-512 (every kernel but the portable one): the
/// fp32 products read weights packed in panels, softmax, LayerNorm and quantization are vectorized.
inline bool packed_kernels() noexcept { return active_kernel_isa() != KernelIsa::portable; }

/// Whether the AVX-512 kernels run (also softmax, LayerNorm and quantization).
inline bool avx512_kernels() noexcept {
  return active_kernel_isa() == KernelIsa::avx512 || active_kernel_isa() == KernelIsa::avx512_bf16;
}

/// The int8 kernel: AVX-512 VNNI where the AVX-512 kernels run and the CPU has VNNI, else the
/// 256-bit kernel (AVX-VNNI when the CPU has it) wherever AVX2 is, else the portable loop.
/// ALBERTNER_ISA=avx512 (AVX-512 without its dot-product extensions) or `avx2` leaves the 256-bit
/// kernel, `portable` the loop. On aarch64 SDOT where the CPU has it, unless ALBERTNER_ISA=neon.
inline Int8Kernel active_int8_kernel() noexcept {
  static const Int8Kernel kernel = [] {
#if ALBERTNER_X86_KERNELS
    const char* forced = std::getenv("ALBERTNER_ISA");
    const bool no_dots = forced && std::strcmp(forced, "avx512") == 0;
    if (avx512_kernels() && !no_dots && __builtin_cpu_supports("avx512vnni")) return Int8Kernel::avx512_vnni;
    if (packed_kernels()) { // AVX2 and FMA at least, and not ruled out
      // AVX-VNNI is CPUID leaf 7, subleaf 1, EAX bit 4; AVX2 already says the OS saves ymm.
      unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
      const bool avx_vnni = __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 4));
      return avx_vnni ? Int8Kernel::avx_vnni : Int8Kernel::avx2;
    }
#elif ALBERTNER_NEON_KERNELS
    if (packed_kernels()) {
      const char* forced = std::getenv("ALBERTNER_ISA");
      bool dotprod = false;
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
      dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
      return dotprod && !(forced && std::strcmp(forced, "neon") == 0) ? Int8Kernel::neon_dotprod : Int8Kernel::neon;
    }
#endif
    return Int8Kernel::portable;
  }();
  return kernel;
}

/// Whether the int8 products read weights packed in panels (pack_panels_i8): every kernel but
/// the portable loop.
inline bool packed_int8_kernels() noexcept { return active_int8_kernel() != Int8Kernel::portable; }

} // namespace detail

/// The instruction set the encoder's kernels run with in this process.
inline KernelIsa kernel_isa() noexcept { return detail::active_kernel_isa(); }

/// The kernel that int8 model files run on in this process.
inline Int8Kernel int8_kernel() noexcept { return detail::active_int8_kernel(); }

} // namespace albertner
