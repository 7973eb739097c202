// The converter, built like the embedded program (-Os -fno-exceptions -fno-rtti): turns a Hugging
// Face folder into a model file for tests/embedded/run.sh when the albertner CLI is not built.
// Usage: embedded_convert HF_DIR OUT.safetensors
#include <albertner/tooling/converter.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: embedded_convert HF_DIR OUT.safetensors\n");
    return 2;
  }
  auto report = albertner::convert_hf_checkpoint(argv[1], argv[2]);
  if (!report.ok()) {
    std::fprintf(stderr, "embedded_convert: %s\n", report.error().what().c_str());
    return 1;
  }
  std::printf("embedded_convert: wrote %s (%zu tensors, %zu parameters, %zu bytes)\n", argv[2],
              report.value().tensors_written, report.value().parameters, report.value().file_bytes);
  return 0;
}
