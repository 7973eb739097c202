// Memory footprint of tagging 128 tokens, for bench/footprint.sh (docs/benchmarks.md, "Footprint").
//   footprint convert HF_DIR OUT.safetensors f32|bf16|int8   writes a model file (as `albertner convert`)
//   footprint measure MODEL.safetensors                      prints one markdown table row
//   footprint measure-ids MODEL.safetensors                  the same without a tokenizer: the encoder alone
//                                                            on 128 token ids from elsewhere (Model::open,
//                                                            make_encoder, one forward pass)
// Run with ALBERTNER_ISA=portable, the encoder uses the file's weights in place (no packed copy).
// measure runs in a fresh process and reads /proc/self/status before the open, after it and after
// tagging a text of exactly 128 positions ([CLS] and [SEP] included) on one thread: RssFile (model
// pages still mapped and resident), RssAnon (packed weights, tokenizer, scratch), VmHWM (the peak).
#include <albertner/albertner.hpp>
#include <albertner/tooling.hpp>

#include <sys/stat.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

long status_kb(const char* key) { // a field of /proc/self/status in kB, or -1
  std::ifstream status("/proc/self/status");
  const std::size_t n = std::strlen(key);
  for (std::string line; std::getline(status, line);)
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':') return std::atol(line.c_str() + n + 1);
  return -1;
}

int convert(const char* hf_dir, const char* out, const std::string& dtype) {
  albertner::ConvertOptions options;
  if (dtype == "bf16") options.matrices = albertner::dtype::bf16;
  else if (dtype == "int8") options.matrices = albertner::dtype::i8;
  else if (dtype != "f32") {
    std::fprintf(stderr, "footprint: dtype %s is not f32, bf16 or int8\n", dtype.c_str());
    return 2;
  }
  auto report = albertner::convert_hf_checkpoint(hf_dir, out, options);
  if (!report.ok()) {
    std::fprintf(stderr, "footprint: %s\n", report.error().what().c_str());
    return 1;
  }
  return 0;
}

/// The size of the file at path in kB, or -1 (said on stderr).
long long file_size_kb(const char* path) {
  struct stat st;
  if (::stat(path, &st) == 0) return static_cast<long long>(st.st_size / 1024);
  std::fprintf(stderr, "footprint: cannot stat %s\n", path);
  return -1;
}

int measure(const char* path) {
  const long long file_kb = file_size_kb(path);
  if (file_kb < 0) return 1;
  const long file0 = status_kb("RssFile"), anon0 = status_kb("RssAnon");
  auto tagger = albertner::Tagger<>::open(path);
  if (!tagger.ok()) {
    std::fprintf(stderr, "footprint: %s\n", tagger.error().what().c_str());
    return 1;
  }
  const long file1 = status_kb("RssFile"), anon1 = status_kb("RssAnon");
  // A text of exactly 128 positions: a sentence, then one-token words.
  std::string text = "Peter Blackburn of the European Commission spoke in Brussels on Thursday.";
  for (;;) {
    auto e = tagger->tokenizer().encode(text);
    if (!e.ok() || e->size() >= 128) break;
    text += " a";
  }
  auto encoding = tagger->tokenizer().encode(text);
  if (!encoding.ok() || encoding->size() != 128) {
    std::fprintf(stderr, "footprint: could not make a text of 128 positions\n");
    return 1;
  }
  auto entities = tagger->tag(text);
  if (!entities.ok()) {
    std::fprintf(stderr, "footprint: %s\n", entities.error().what().c_str());
    return 1;
  }
  const long file2 = status_kb("RssFile"), anon2 = status_kb("RssAnon"), hwm = status_kb("VmHWM");
  const std::size_t workspace = tagger->encoder().workspace_bytes(1, 128);
  // | file | file kB | model pages resident (RssFile +) | anon after open (RssAnon +) | workspace | anon after tagging
  // | VmHWM |
  const char* name = std::strrchr(path, '/');
  std::printf("| %s | %lld | %ld | %ld | %zu | %ld | %ld |\n", name ? name + 1 : path,
              file_kb, file2 - file0, anon1 - anon0, workspace / 1024, anon2 - anon1,
              hwm);
  std::fprintf(stderr, "footprint: %s: RssFile %ld -> %ld -> %ld kB, RssAnon %ld -> %ld -> %ld kB, %zu entities\n",
               path, file0, file1, file2, anon0, anon1, anon2, entities->size());
  return 0;
}

/// As measure, but the encoder alone on 128 ids: what a product saves that gets its ids elsewhere.
int measure_ids(const char* path) {
  const long long file_kb = file_size_kb(path);
  if (file_kb < 0) return 1;
  const long file0 = status_kb("RssFile"), anon0 = status_kb("RssAnon");
  auto model = albertner::Model::open(path);
  if (!model.ok()) {
    std::fprintf(stderr, "footprint: %s\n", model.error().what().c_str());
    return 1;
  }
  auto encoder = albertner::make_encoder(*model);
  if (!encoder.ok()) {
    std::fprintf(stderr, "footprint: %s\n", encoder.error().what().c_str());
    return 1;
  }
  const long anon1 = status_kb("RssAnon");
  std::int64_t ids[128];
  for (std::int64_t i = 0; i < 128; ++i) ids[i] = i == 0 ? 2 : i == 127 ? 3 : 100 + i; // [CLS] ... [SEP]
  albertner::EncoderInput input;
  input.batch = 1;
  input.seq_len = 128;
  input.input_ids = ids;
  albertner::Encoder::Workspace workspace;
  auto out = encoder->forward(input, workspace);
  if (!out.ok()) {
    std::fprintf(stderr, "footprint: %s\n", out.error().what().c_str());
    return 1;
  }
  const long file2 = status_kb("RssFile"), anon2 = status_kb("RssAnon"), hwm = status_kb("VmHWM");
  const char* name = std::strrchr(path, '/');
  std::printf("| %s, ids only | %lld | %ld | %ld | %zu | %ld | %ld |\n", name ? name + 1 : path,
              file_kb, file2 - file0, anon1 - anon0,
              encoder->workspace_bytes(1, 128) / 1024, anon2 - anon1, hwm);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "convert") == 0) return convert(argv[2], argv[3], argv[4]);
  if (argc == 3 && std::strcmp(argv[1], "measure") == 0) return measure(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "measure-ids") == 0) return measure_ids(argv[2]);
  std::fprintf(stderr,
               "usage: footprint convert HF_DIR OUT.safetensors f32|bf16|int8\n"
               "       footprint measure MODEL.safetensors\n"
               "       footprint measure-ids MODEL.safetensors\n");
  return 2;
}
