// Shared helpers of the libFuzzer targets in tests/fuzz (built by tests/fuzz/run.sh).
// Targets are compiled with -fno-exceptions -fno-rtti; a broken invariant aborts with a message so
// that libFuzzer records the input as a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifndef ALBERTNER_SHARED_DIR
#define ALBERTNER_SHARED_DIR "../shared"
#endif

namespace albertner_fuzz {

/// The shared fixtures folder: $ALBERTNER_SHARED_DIR, else the path compiled in.
inline std::string shared_path(const std::string& relative) {
  const char* env = std::getenv("ALBERTNER_SHARED_DIR");
  return std::string(env && *env ? env : ALBERTNER_SHARED_DIR) + "/" + relative;
}

/// The whole file, or exits (fuzzers that need a fixture cannot run without it).
inline std::vector<std::uint8_t> read_file_or_die(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz: cannot read %s (set ALBERTNER_SHARED_DIR)\n", path.c_str());
    std::exit(2);
  }
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

[[noreturn]] inline void fail(const char* file, int line, const char* what) {
  std::fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", file, line, what);
  std::abort();
}

/// Reads a view's first and last byte and one byte per 4 kB in between, so that ASan catches a
/// view reaching outside its buffer without a full pass over megabytes of weights per execution.
inline unsigned touch(const std::uint8_t* data, std::size_t n) {
  if (n == 0) return 0;
  volatile unsigned sum = data[n - 1];
  for (std::size_t i = 0; i < n; i += 4096) sum = sum + data[i];
  return sum;
}

} // namespace albertner_fuzz

#define FUZZ_CHECK(cond)                                                                           \
  do {                                                                                             \
    if (!(cond)) ::albertner_fuzz::fail(__FILE__, __LINE__, #cond);                                \
  } while (0)
