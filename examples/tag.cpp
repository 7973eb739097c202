// Tags each command-line text with a model file made by `albertner convert` and prints its entities.
// Usage: albertner_example_tag MODEL TEXT...
#include <albertner/albertner.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL TEXT...\n", argv[0]);
    return 2;
  }
  auto tagger = albertner::Tagger<>::open(argv[1]); // aggregation: the model's recommendation, else "simple"
  if (!tagger.ok()) {
    std::fprintf(stderr, "error: %s\n", tagger.error().what().c_str());
    return 1;
  }
  for (int i = 2; i < argc; ++i) {
    auto entities = tagger->tag(argv[i]);
    if (!entities.ok()) {
      std::fprintf(stderr, "error: %s\n", entities.error().what().c_str());
      return 1;
    }
    for (const albertner::Entity& e : *entities)
      std::printf("%-5s %.3f [%zu, %zu) %s\n", e.label.c_str(), static_cast<double>(e.score), e.start, e.end,
                  e.text.c_str());
  }
  return 0;
}
