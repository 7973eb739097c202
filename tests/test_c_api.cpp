// The C API (include/albertner/albertner.h): open from a path and from memory, tag into a caller's
// buffer, and every bad input (NULL handles and pointers, invalid UTF-8, a truncated model in memory,
// a buffer too small) answered with a status and a message that names it. The entities are those of
// the C++ Tagger, compared on CoNLL-2003 sentences with the bundled model.
#include "shared.hpp"

#include <albertner/albertner.h>
#include <albertner/albertner.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

const std::string model_path = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";

std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Opens the bundled model or fails the test.
albertner_tagger* open_bundled(const albertner_options* options = nullptr) {
  albertner_tagger* tagger = nullptr;
  const albertner_status s = albertner_open(model_path.c_str(), options, &tagger);
  REQUIRE_MESSAGE(s == ALBERTNER_OK, albertner_last_error());
  REQUIRE(tagger != nullptr);
  return tagger;
}

/// The entities of `text` through the C API, as "label [byte_start, byte_end) score" lines.
std::string c_entities(const albertner_tagger* tagger, const std::string& text) {
  std::vector<albertner_entity> out(64);
  size_t count = 0;
  const albertner_status s = albertner_tag(tagger, text.data(), text.size(), out.data(), out.size(), &count);
  REQUIRE_MESSAGE(s == ALBERTNER_OK, albertner_last_error());
  std::ostringstream lines;
  for (size_t i = 0; i < count; ++i)
    lines << out[i].label << " [" << out[i].byte_start << ", " << out[i].byte_end << ") [" << out[i].start << ", "
          << out[i].end << ") " << out[i].score << "\n";
  return lines.str();
}

std::string cpp_entities(const albertner::Tagger<>& tagger, const std::string& text) {
  auto entities = tagger.tag(text);
  REQUIRE(entities.ok());
  std::ostringstream lines;
  for (const albertner::Entity& e : *entities)
    lines << e.label << " [" << e.byte_start << ", " << e.byte_end << ") [" << e.start << ", " << e.end << ") "
          << e.score << "\n";
  return lines.str();
}

/// The first `n` sentences of a CoNLL file, words joined by spaces.
std::vector<std::string> conll_sentences(const std::string& path, std::size_t n) {
  std::ifstream in(path);
  std::vector<std::string> sentences;
  std::string line, sentence;
  while (sentences.size() < n && std::getline(in, line)) {
    if (line.empty()) {
      if (!sentence.empty()) sentences.push_back(sentence);
      sentence.clear();
      continue;
    }
    const std::string word = line.substr(0, line.find(' '));
    if (word == "-DOCSTART-") continue;
    sentence += (sentence.empty() ? "" : " ") + word;
  }
  return sentences;
}

} // namespace

TEST_CASE("C API: the version is the header's, and every status has a name") {
  char expected[32];
  std::snprintf(expected, sizeof expected, "%d.%d.%d", ALBERTNER_VERSION_MAJOR, ALBERTNER_VERSION_MINOR,
                ALBERTNER_VERSION_PATCH);
  CHECK(std::string(albertner_version()) == expected);
  CHECK(std::string(albertner_status_name(ALBERTNER_OK)) == "ok");
  CHECK(std::string(albertner_status_name(ALBERTNER_ERR_FORMAT)) == "format");
  CHECK(std::string(albertner_status_name(ALBERTNER_ERR_BUFFER_TOO_SMALL)) == "buffer_too_small");
  CHECK(std::string(albertner_status_name(static_cast<albertner_status>(99))) == "unknown");
  const albertner_options o = albertner_options_default();
  CHECK(o.aggregation == ALBERTNER_AGGREGATION_DEFAULT);
  CHECK(o.threads == 1);
  CHECK(o.batch_size == 8);
  CHECK(o.window == 0);
}

TEST_CASE("C API: the bundled model tags like the C++ Tagger, from a path and from memory") {
  albertner_tagger* from_path = open_bundled();
  const std::vector<char> bytes = read_file(model_path);
  REQUIRE(!bytes.empty());
  albertner_tagger* from_memory = nullptr;
  REQUIRE_MESSAGE(albertner_open_memory(bytes.data(), bytes.size(), nullptr, &from_memory) == ALBERTNER_OK,
                  albertner_last_error());
  auto cpp = albertner::Tagger<>::open(model_path);
  REQUIRE(cpp.ok());

  CHECK(albertner_label_count(from_path) == cpp->labels().size());
  for (size_t i = 0; i < cpp->labels().size(); ++i)
    CHECK(std::string(albertner_label(from_path, i)) == cpp->labels()[i]);
  CHECK(albertner_label(from_path, cpp->labels().size()) == nullptr);
  CHECK(albertner_workspace_bytes(from_path, 128) == cpp->encoder().workspace_bytes(1, 128));
  CHECK(albertner_workspace_bytes(from_path, 0) ==
        cpp->encoder().workspace_bytes(1, static_cast<std::int64_t>(cpp->options().window)));

  std::vector<std::string> texts = {"Peter Blackburn of the European Commission spoke in Brussels on Thursday.",
                                    "Zürich und München liegen nicht in Österreich, sagte Jürgen Müller ."};
  if (albertner_test::have_shared("data/conll2003/test.txt")) {
    const std::vector<std::string> conll = conll_sentences(albertner_test::shared_path("data/conll2003/test.txt"), 20);
    REQUIRE(conll.size() == 20);
    texts.insert(texts.end(), conll.begin(), conll.end());
  }
  std::size_t total = 0;
  for (const std::string& text : texts) {
    CAPTURE(text);
    const std::string want = cpp_entities(*cpp, text);
    CHECK(c_entities(from_path, text) == want);
    CHECK(c_entities(from_memory, text) == want);
    total += static_cast<std::size_t>(std::count(want.begin(), want.end(), '\n'));
  }
  CHECK(total >= texts.size()); // the comparison is not of empty lists

  // options.constrained is TaggerOptions::constrained.
  albertner_options options = albertner_options_default();
  CHECK(options.constrained == 0);
  options.constrained = 1;
  albertner_tagger* constrained = open_bundled(&options);
  albertner::TaggerOptions cpp_options;
  cpp_options.constrained = true;
  auto cpp_constrained = albertner::Tagger<>::open(model_path, cpp_options);
  REQUIRE(cpp_constrained.ok());
  for (const std::string& text : texts) {
    CAPTURE(text);
    CHECK(c_entities(constrained, text) == cpp_entities(*cpp_constrained, text));
  }
  albertner_close(constrained);
  albertner_close(from_path);
  albertner_close(from_memory);
}

TEST_CASE("C API: entity fields: labels owned by the tagger, byte and code point spans of the caller's text") {
  albertner_options options = albertner_options_default();
  options.aggregation = ALBERTNER_AGGREGATION_FIRST;
  albertner_tagger* tagger = open_bundled(&options);
  const std::string text = "EU rejects German call to boycott British lamb .";
  albertner_entity out[8];
  size_t count = 0;
  REQUIRE(albertner_tag(tagger, text.data(), text.size(), out, 8, &count) == ALBERTNER_OK);
  std::string got;
  for (size_t i = 0; i < count; ++i)
    got += text.substr(out[i].byte_start, out[i].byte_end - out[i].byte_start) + "/" + out[i].label + " ";
  CHECK(got == "EU/ORG German/MISC British/MISC "); // test_bundled_model's sentence, same answer
  CHECK(std::string(albertner_last_error()).empty());

  options.aggregation = ALBERTNER_AGGREGATION_NONE; // token tags, B-/I- kept
  albertner_tagger* tokens = open_bundled(&options);
  REQUIRE(albertner_tag(tokens, text.data(), text.size(), out, 8, &count) == ALBERTNER_OK);
  REQUIRE(count >= 1);
  CHECK(std::string(out[0].label) == "B-ORG");
  albertner_close(tokens);

  const std::string accents = "Jürgen Müller flew to Zürich .";
  REQUIRE(albertner_tag(tagger, accents.data(), accents.size(), out, 8, &count) == ALBERTNER_OK);
  REQUIRE(count >= 1);
  // Every entity's code point offsets count the code points before its byte offsets, and at least
  // one entity lies after a 2-byte letter (so the two differ).
  auto code_points = [&accents](std::size_t bytes) {
    std::size_t n = 0;
    for (std::size_t i = 0; i < bytes; ++i) n += (static_cast<unsigned char>(accents[i]) & 0xC0) != 0x80;
    return n;
  };
  bool after_accent = false;
  for (size_t i = 0; i < count; ++i) {
    CAPTURE(i);
    CHECK(out[i].start == code_points(out[i].byte_start));
    CHECK(out[i].end == code_points(out[i].byte_end));
    after_accent = after_accent || out[i].byte_start != out[i].start;
  }
  CHECK(after_accent);
  albertner_close(tagger);
}

TEST_CASE("C API: a buffer too small: the status, the count needed, the first entities written") {
  albertner_tagger* tagger = open_bundled();
  const std::string text = "Peter Blackburn of the European Commission spoke in Brussels on Thursday.";
  size_t count = 0;
  REQUIRE(albertner_tag(tagger, text.data(), text.size(), nullptr, 0, &count) == ALBERTNER_ERR_BUFFER_TOO_SMALL);
  REQUIRE(count >= 3);
  CHECK(std::string(albertner_last_error()) ==
        "albertner_tag: entities: " + std::to_string(count) + " found, room for 0");
  const size_t needed = count;

  std::vector<albertner_entity> two(2), all(needed);
  albertner_entity guard;
  std::memset(&guard, 0x5a, sizeof guard);
  two.push_back(guard); // one more element past the capacity given: must be left alone
  CHECK(albertner_tag(tagger, text.data(), text.size(), two.data(), 2, &count) == ALBERTNER_ERR_BUFFER_TOO_SMALL);
  CHECK(count == needed);
  CHECK(std::memcmp(&two[2], &guard, sizeof guard) == 0);
  REQUIRE(albertner_tag(tagger, text.data(), text.size(), all.data(), all.size(), &count) == ALBERTNER_OK);
  CHECK(count == needed);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(std::string(two[i].label) == all[i].label);
    CHECK(two[i].byte_start == all[i].byte_start);
    CHECK(two[i].byte_end == all[i].byte_end);
  }
  albertner_close(tagger);
}

TEST_CASE("C API: NULL handles and pointers are statuses with messages, never crashes") {
  albertner_tagger* tagger = reinterpret_cast<albertner_tagger*>(0x1); // must be overwritten with NULL
  CHECK(albertner_open(nullptr, nullptr, &tagger) == ALBERTNER_ERR_NULL_ARGUMENT);
  CHECK(tagger == nullptr);
  CHECK(std::string(albertner_last_error()) == "albertner_open: path is NULL");
  CHECK(albertner_open(model_path.c_str(), nullptr, nullptr) == ALBERTNER_ERR_NULL_ARGUMENT);
  CHECK(std::string(albertner_last_error()).find("output handle") != std::string::npos);
  CHECK(albertner_open_memory(nullptr, 10, nullptr, &tagger) == ALBERTNER_ERR_NULL_ARGUMENT);
  CHECK(std::string(albertner_last_error()) == "albertner_open_memory: data is NULL");
  CHECK(albertner_open_memory("x", 1, nullptr, nullptr) == ALBERTNER_ERR_NULL_ARGUMENT);

  size_t count = 7;
  albertner_entity out[4];
  CHECK(albertner_tag(nullptr, "a", 1, out, 4, &count) == ALBERTNER_ERR_NULL_ARGUMENT);
  CHECK(count == 0);
  CHECK(std::string(albertner_last_error()) == "albertner_tag: tagger is NULL");
  albertner_tagger* real = open_bundled();
  CHECK(albertner_tag(real, "a", 1, out, 4, nullptr) == ALBERTNER_ERR_NULL_ARGUMENT);
  CHECK(std::string(albertner_last_error()) == "albertner_tag: count is NULL");
  CHECK(albertner_tag(real, nullptr, 3, out, 4, &count) == ALBERTNER_ERR_NULL_ARGUMENT);
  CHECK(std::string(albertner_last_error()) == "albertner_tag: text is NULL with length 3");
  CHECK(albertner_tag(real, "a", 1, nullptr, 4, &count) == ALBERTNER_ERR_NULL_ARGUMENT);
  CHECK(std::string(albertner_last_error()) == "albertner_tag: entities is NULL with capacity 4");
  CHECK(albertner_tag(real, nullptr, 0, out, 4, &count) == ALBERTNER_OK); // the empty text
  CHECK(count == 0);

  CHECK(albertner_label_count(nullptr) == 0);
  CHECK(albertner_label(nullptr, 0) == nullptr);
  CHECK(albertner_workspace_bytes(nullptr, 128) == 0);
  albertner_close(nullptr); // accepted, does nothing
  albertner_close(real);
}

TEST_CASE("C API: invalid UTF-8 is invalid_input at its byte; text with NUL bytes is text") {
  albertner_tagger* tagger = open_bundled();
  albertner_entity out[8];
  size_t count = 0;
  const char bad[] = "Paris \xff London";
  CHECK(albertner_tag(tagger, bad, sizeof bad - 1, out, 8, &count) == ALBERTNER_ERR_INVALID_INPUT);
  CHECK(count == 0);
  CHECK(std::string(albertner_last_error()) == "albertner_tag: text is not valid UTF-8 at byte 6");
  const char truncated[] = "caf\xc3"; // a 2-byte sequence cut after its first byte
  CHECK(albertner_tag(tagger, truncated, 4, out, 8, &count) == ALBERTNER_ERR_INVALID_INPUT);

  // The length, not a terminator, ends the text: "John lives in Paris." past an embedded NUL. (The
  // bundled model's recommended aggregation, first, makes the word "Paris." one entity.)
  const char with_nul[] = "x\0John lives in Paris.";
  REQUIRE(albertner_tag(tagger, with_nul, sizeof with_nul - 1, out, 8, &count) == ALBERTNER_OK);
  bool paris = false;
  for (size_t i = 0; i < count; ++i)
    paris =
        paris || std::string(with_nul + out[i].byte_start, out[i].byte_end - out[i].byte_start).rfind("Paris", 0) == 0;
  CHECK(paris);
  albertner_close(tagger);
}

TEST_CASE("C API: bad model files and options are statuses naming the path, the buffer or the option") {
  albertner_tagger* tagger = nullptr;
  CHECK(albertner_open("/nonexistent/model.safetensors", nullptr, &tagger) == ALBERTNER_ERR_IO);
  CHECK(tagger == nullptr);
  CHECK(std::string(albertner_last_error()).find("/nonexistent/model.safetensors") != std::string::npos);

  const std::vector<char> bytes = read_file(model_path);
  REQUIRE(bytes.size() > 1000);
  for (size_t size : {size_t(0), size_t(7), size_t(8), size_t(100), bytes.size() / 2, bytes.size() - 1}) {
    CAPTURE(size);
    CHECK(albertner_open_memory(bytes.data(), size, nullptr, &tagger) == ALBERTNER_ERR_FORMAT);
    CHECK(tagger == nullptr);
    const std::string message = albertner_last_error();
    CHECK(message.find("model in memory (" + std::to_string(size) + " bytes)") == 0);
  }
  std::vector<char> garbage(4096, '\x7f');
  CHECK(albertner_open_memory(garbage.data(), garbage.size(), nullptr, &tagger) == ALBERTNER_ERR_FORMAT);

  albertner_options options = albertner_options_default();
  options.aggregation = 5;
  CHECK(albertner_open(model_path.c_str(), &options, &tagger) == ALBERTNER_ERR_INVALID_INPUT);
  CHECK(std::string(albertner_last_error()) == "options: aggregation 5 is not an albertner_aggregation (-1..4)");
  options = albertner_options_default();
  options.threads = 0;
  CHECK(albertner_open(model_path.c_str(), &options, &tagger) == ALBERTNER_ERR_INVALID_INPUT);
  CHECK(std::string(albertner_last_error()).find("threads must be at least 1") != std::string::npos);
  options = albertner_options_default();
  options.window = 100000;
  CHECK(albertner_open(model_path.c_str(), &options, &tagger) == ALBERTNER_ERR_INVALID_INPUT);
  CHECK(tagger == nullptr);
}

#ifdef ALBERTNER_NO_THREADS
TEST_CASE("C API without threads (ALBERTNER_NO_THREADS): more than one thread is unsupported, one tags") {
  albertner_options options = albertner_options_default();
  options.threads = 2;
  albertner_tagger* tagger = nullptr;
  CHECK(albertner_open(model_path.c_str(), &options, &tagger) == ALBERTNER_ERR_UNSUPPORTED);
  CHECK(std::string(albertner_last_error()).find("ALBERTNER_NO_THREADS") != std::string::npos);
  CHECK(tagger == nullptr);
  tagger = open_bundled();
  auto cpp = albertner::Tagger<>::open(model_path);
  REQUIRE(cpp.ok());
  const std::string text = "Peter Blackburn of the European Commission spoke in Brussels on Thursday.";
  const std::string got = c_entities(tagger, text);
  CHECK(!got.empty());
  CHECK(got == cpp_entities(*cpp, text));
  albertner_close(tagger);
}
#else
TEST_CASE("C API: one handle shared by four threads tags as one thread does") {
  albertner_tagger* tagger = open_bundled();
  const std::vector<std::string> texts = {"John lives in Paris.", "Angela Merkel met Emmanuel Macron in Berlin .",
                                          "EU rejects German call to boycott British lamb .",
                                          "Peter Blackburn of the European Commission spoke in Brussels."};
  std::vector<std::string> want;
  for (const std::string& t : texts) want.push_back(c_entities(tagger, t));
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (int round = 0; round < 5; ++round)
        for (std::size_t i = 0; i < texts.size(); ++i) {
          albertner_entity out[16];
          size_t count = 0;
          const std::string& t = texts[(i + static_cast<std::size_t>(k)) % texts.size()];
          if (albertner_tag(tagger, t.data(), t.size(), out, 16, &count) != ALBERTNER_OK) {
            ++mismatches[static_cast<std::size_t>(k)];
            continue;
          }
          std::ostringstream lines;
          for (size_t e = 0; e < count; ++e)
            lines << out[e].label << " [" << out[e].byte_start << ", " << out[e].byte_end << ") [" << out[e].start
                  << ", " << out[e].end << ") " << out[e].score << "\n";
          if (lines.str() != want[(i + static_cast<std::size_t>(k)) % texts.size()])
            ++mismatches[static_cast<std::size_t>(k)];
        }
    });
  for (std::thread& t : threads) t.join();
  for (int m : mismatches) CHECK(m == 0);
  albertner_close(tagger);
}
#endif
