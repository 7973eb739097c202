// Runs the measurements of SHARED/peers/peak/peak.c (linked in, its main renamed) that this CPU
// can execute: peak.c runs all four and dies of an illegal instruction without AVX-512. Prints
// peak.c's line, 0.0 for what the CPU lacks. The AVX2 figure is measured here: peak.c's 16
// chains plus two operands need 18 of the 16 ymm registers, so without AVX-512's 32 its loop
// spills to the stack and reports about half the FMA rate.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

double f512(long n);
double bf16(long n);
double vnni(long n);

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// 12 independent FMA chains (two FMA ports, latency 4 to 5) and the two operands: 14 registers.
__attribute__((target("avx2,fma"))) static double avx2_fma(long n) {
  __m256 a[12];
  for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps((float)i * 1e-3f);
  const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-4f);
  double t = seconds_now();
  for (long k = 0; k < n; k++)
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], x, y);
  t = seconds_now() - t;
  float lanes[8], s = 0;
  for (int i = 0; i < 12; i++) {
    _mm256_storeu_ps(lanes, a[i]);
    for (int j = 0; j < 8; j++) s += lanes[j];
  }
  if (s == 42) puts("");
  return (double)n * 12 * 8 * 2 / t / 1e9;
}

int main(void) {
  __builtin_cpu_init();
  const int avx512 = __builtin_cpu_supports("avx512f");
  const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const int dots = avx512 && __builtin_cpu_supports("avx512bf16");
  const int vnni_dots = avx512 && __builtin_cpu_supports("avx512vnni");
  const long n = 200000000 / 16;
  for (int r = 0; r < 3; r++)
    printf("fp32 avx512 %.1f GFLOP/s | fp32 avx2 %.1f | bf16 dp %.1f | int8 vnni %.1f GOP/s\n",
           avx512 ? f512(n) : 0.0, avx2 ? avx2_fma(n) : 0.0, dots ? bf16(n) : 0.0, vnni_dots ? vnni(n) : 0.0);
  return 0;
}
