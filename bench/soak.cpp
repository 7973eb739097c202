// Soak test: tags many sentences (the CoNLL-2003 validation sentences, repeated) with one model in
// one process and prints the resident set size at the start, the middle and the end, so that leaks
// and unbounded caches show up as growth, plus the throughput.
// Usage: soak MODEL [--sentences N] [--conll valid.txt] [--chunk K] [--threads T]
//   MODEL: an albertner model file, or a Hugging Face folder (converted to a temporary file first).
#include <albertner/albertner.hpp>
#include <albertner/tooling.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace {

/// VmRSS of this process in kB (from /proc/self/status), or -1.
long rss_kb(const char* field = "VmRSS:") {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n);
  return -1;
}

/// One sentence per CoNLL block: the first column joined by spaces (-DOCSTART- skipped).
std::vector<std::string> conll_sentences(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line, sentence;
  auto flush = [&] {
    if (!sentence.empty()) out.push_back(sentence);
    sentence.clear();
  };
  while (std::getline(in, line)) {
    if (line.empty() || line.compare(0, 10, "-DOCSTART-") == 0) {
      flush();
      continue;
    }
    const std::string word = line.substr(0, line.find(' '));
    sentence += (sentence.empty() ? "" : " ") + word;
  }
  flush();
  return out;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void print_rss(const char* when, std::size_t done) {
  std::printf("soak: rss %-6s %8.1f MB after %zu sentences\n", when, static_cast<double>(rss_kb()) / 1024.0, done);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: soak MODEL [--sentences N] [--conll valid.txt] [--chunk K] [--threads T]\n");
    return 2;
  }
  std::string model_path = argv[1];
  std::size_t total = 100000, chunk = 256, threads = 1;
  std::string conll = "../shared/data/conll2003/valid.txt";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--sentences") total = std::strtoul(value.c_str(), nullptr, 10);
    else if (flag == "--conll") conll = value;
    else if (flag == "--chunk") chunk = std::strtoul(value.c_str(), nullptr, 10);
    else if (flag == "--threads") threads = std::strtoul(value.c_str(), nullptr, 10);
    else {
      std::fprintf(stderr, "soak: unknown option %s\n", flag.c_str());
      return 2;
    }
  }
  if (chunk == 0) chunk = 1;

  std::string temporary;
  if (is_directory(model_path)) {
    char tmpl[] = "/tmp/albertner_soak_XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd < 0) return 1;
    ::close(fd);
    temporary = tmpl;
    auto report = albertner::convert_hf_checkpoint(model_path, temporary);
    if (!report.ok()) {
      std::fprintf(stderr, "soak: %s\n", report.error().what().c_str());
      return 1;
    }
    std::printf("soak: converted %s (%zu parameters)\n", model_path.c_str(), report.value().parameters);
    model_path = temporary;
  }

  const std::vector<std::string> sentences = conll_sentences(conll);
  if (sentences.empty()) {
    std::fprintf(stderr, "soak: no sentences in %s\n", conll.c_str());
    return 1;
  }
  auto model = albertner::Model::open(model_path);
  if (!model.ok()) {
    std::fprintf(stderr, "soak: %s\n", model.error().what().c_str());
    return 1;
  }
  albertner::TaggerOptions options;
  options.threads = threads;
  const std::size_t positions = static_cast<std::size_t>(model.value().config().max_position_embeddings);
  if (positions / 4 < options.overlap) options.overlap = positions / 4; // small models have few positions
  auto tagger = albertner::Tagger<>::from_model(std::move(model).value(), options);
  if (!temporary.empty()) ::unlink(temporary.c_str()); // the mapping stays valid
  if (!tagger.ok()) {
    std::fprintf(stderr, "soak: %s\n", tagger.error().what().c_str());
    return 1;
  }
  std::printf("soak: %zu sentences (%zu distinct from %s), chunks of %zu, %zu thread(s)\n", total, sentences.size(),
              conll.c_str(), chunk, threads);
  print_rss("start", 0);

  const auto t0 = std::chrono::steady_clock::now();
  std::size_t done = 0, entities = 0, next = 0;
  bool middle = false;
  std::vector<std::string> batch;
  while (done < total) {
    batch.clear();
    for (std::size_t i = 0; i < chunk && done + i < total; ++i) batch.push_back(sentences[(next++) % sentences.size()]);
    auto result = tagger.value().tag_batch(batch);
    if (!result.ok()) {
      std::fprintf(stderr, "soak: %s\n", result.error().what().c_str());
      return 1;
    }
    for (const auto& e : result.value()) entities += e.size();
    done += batch.size();
    if (!middle && done >= total / 2) {
      print_rss("middle", done);
      middle = true;
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  print_rss("end", done);
  std::printf("soak: peak rss (VmHWM) %.1f MB\n", static_cast<double>(rss_kb("VmHWM:")) / 1024.0);
  std::printf("soak: %zu sentences in %.1f s: %.0f sentences/s, %zu entities\n", done, seconds,
              static_cast<double>(done) / seconds, entities);
  return 0;
}
