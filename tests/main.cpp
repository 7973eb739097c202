// doctest's main, compiled once for every test program.
// ALBERTNER_TEST_EXCLUDE (comma-separated doctest wildcards) skips the test cases whose names match,
// as -tce= would: the sanitizer stage of scripts/test.sh uses it for the slowest base-model cases.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

int main(int argc, char** argv) {
  doctest::Context context;
  if (const char* exclude = std::getenv("ALBERTNER_TEST_EXCLUDE"); exclude && *exclude)
    context.addFilter("test-case-exclude", exclude);
  context.applyCommandLine(argc, argv);
  return context.run();
}
