// Builds against albertner pulled in with add_subdirectory and checks a default config.
#include <albertner/albertner.hpp>

#include <cstdio>

int main() {
  albertner::ModelConfig config;
  config.labels = {"O", "B-PER", "I-PER"};
  const albertner::Status status = config.validate();
  if (!status.ok()) {
    std::fprintf(stderr, "consumer: %s\n", status.error().what().c_str());
    return 1;
  }
  std::printf("consumer ok: %lld labels, head_dim %lld\n", static_cast<long long>(config.num_labels()),
              static_cast<long long>(config.head_dim()));
  return 0;
}
