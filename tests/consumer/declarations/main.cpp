// Compiled with ALBERTNER_DECLARATIONS_ONLY: sees the Tagger's declarations, not Eigen or
// sentencepiece. Tags one sentence with the model named on the command line and checks that a
// missing file is an error value.
#include <albertner/albertner.hpp>

#ifdef EIGEN_WORLD_VERSION
#error "a declarations-only file must not see Eigen"
#endif

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer MODEL\n");
    return 2;
  }
  auto missing = albertner::Tagger<>::open("no/such/model.safetensors");
  if (missing.ok()) {
    std::fprintf(stderr, "consumer: a missing model file opened\n");
    return 1;
  }
  auto tagger = albertner::Tagger<>::open(argv[1]);
  if (!tagger.ok()) {
    std::fprintf(stderr, "consumer: %s\n", tagger.error().what().c_str());
    return 1;
  }
  auto entities = tagger->tag("Angela Merkel met Emmanuel Macron in Paris.");
  if (!entities.ok() || entities->empty()) {
    std::fprintf(stderr, "consumer: no entities\n");
    return 1;
  }
  for (const albertner::Entity& e : *entities) std::printf("%s\t%s\n", e.label.c_str(), e.text.c_str());
  std::printf("consumer ok: declarations-only, %zu entities\n", entities->size());
  return 0;
}
