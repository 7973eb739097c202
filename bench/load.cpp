// Model load time and resident memory: the time of Model::open + make_encoder (map, bind, pack)
// over several fresh loads, then VmRSS / VmHWM after loading a Tagger and after tagging a text of
// about T tokens for each T. Prints one JSON object.
//
//   build-bench/bench/load MODEL.safetensors [--loads 10] [--lens 16,128,512]
// (bench/load.sh builds it and runs it on the converted golden base model.)
#include <albertner/albertner.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

// A field of /proc/self/status in kB ("VmRSS", "VmHWM", "RssFile"), or -1.
long status_kb(const std::string& key) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind(key + ":", 0) == 0) return std::atol(line.c_str() + key.size() + 1);
  return -1;
}

std::vector<long> parse_list(const std::string& s) {
  std::vector<long> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(std::atol(s.substr(i, j - i).c_str()));
    i = j + 1;
  }
  return out;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: load MODEL.safetensors [--loads N] [--lens 16,128,512]\n");
    return 2;
  }
  const std::string path = argv[1];
  int loads = 10;
  std::vector<long> lens = {16, 128, 512};
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--loads") loads = std::atoi(argv[i + 1]);
    else if (flag == "--lens") lens = parse_list(argv[i + 1]);
  }

  std::vector<double> ms;
  long file_bytes = 0;
  for (int i = 0; i < loads; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto model = albertner::Model::open(path);
    if (!model.ok()) {
      std::fprintf(stderr, "load: %s\n", model.error().what().c_str());
      return 1;
    }
    auto encoder = albertner::make_encoder(*model);
    const auto t1 = std::chrono::steady_clock::now();
    if (!encoder.ok()) {
      std::fprintf(stderr, "load: %s\n", encoder.error().what().c_str());
      return 1;
    }
    file_bytes = static_cast<long>(model->tensors().file_size());
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  const std::vector<double> sorted = [&] {
    std::vector<double> s = ms;
    std::sort(s.begin(), s.end());
    return s;
  }();

  // Memory is measured in a process that has loaded nothing else first: a fresh child would be
  // cleaner, but the loads above freed everything they held (the peak they left is reported).
  const long hwm_loads = status_kb("VmHWM");
  auto tagger = albertner::Tagger<>::open(path);
  if (!tagger.ok()) {
    std::fprintf(stderr, "load: %s\n", tagger.error().what().c_str());
    return 1;
  }
  std::printf("{\"file_bytes\": %ld, \"kernels\": \"%s\", \"loads\": %d, \"first_load_ms\": %.2f, "
              "\"median_load_ms\": %.2f, \"min_load_ms\": %.2f, \"max_load_ms\": %.2f, \"hwm_after_loads_kb\": %ld, "
              "\"rss_tagger_kb\": %ld",
              file_bytes, albertner::kernel_isa_name(albertner::kernel_isa()), loads, ms.front(),
              sorted[sorted.size() / 2], sorted.front(), sorted.back(), hwm_loads, status_kb("VmRSS"));
  const std::string sentence = "John Smith flew from New York to Berlin on Monday for a meeting with Siemens . ";
  for (long T : lens) {
    std::string text;
    while (true) {
      auto encoding = tagger->tokenizer().encode(text + sentence);
      if (!encoding.ok() || static_cast<long>(encoding->size()) > T) break;
      text += sentence;
    }
    auto entities = tagger->tag(text.empty() ? sentence : text);
    if (!entities.ok()) {
      std::fprintf(stderr, "load: %s\n", entities.error().what().c_str());
      return 1;
    }
    std::printf(", \"rss_after_T%ld_kb\": %ld, \"hwm_after_T%ld_kb\": %ld", T, status_kb("VmRSS"), T,
                status_kb("VmHWM"));
  }
  std::printf("}\n");
  return 0;
}
