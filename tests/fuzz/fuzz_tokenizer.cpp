// Tokenizer::encode and Tokenizer::encode_words on arbitrary bytes with the real albert-base-v2
// spiece.model (loaded once from the shared fixtures), in both pre-tokenizer variants (the Hub's
// WhitespaceSplit + Metaspace and the re-converted Metaspace-only one) plus a cased, accent-keeping
// one. The whole input is one text; split on '\n' it is a word list. Invalid UTF-8 must be an
// errc::invalid_input value; valid text must give consistent encodings.
#include <albertner/io/utf8.hpp>
#include <albertner/text/tokenizer.hpp>

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

using namespace albertner;

namespace {

std::vector<std::unique_ptr<Tokenizer>> tokenizers;

bool is_boundary(const std::string& s, std::size_t i) {
  return i == 0 || i >= s.size() || (static_cast<unsigned char>(s[i]) & 0xC0) != 0x80;
}

/// Offsets inside the (word's) text, on character boundaries, ids in the vocabulary.
void check_encoding(const Tokenizer& t, const Encoding& e, const std::vector<std::string>& texts, bool words) {
  FUZZ_CHECK(e.size() >= 2);
  FUZZ_CHECK(e.tokens.size() == e.size() && e.offsets.size() == e.size() && e.byte_offsets.size() == e.size() &&
             e.special_tokens_mask.size() == e.size());
  FUZZ_CHECK(words ? e.word_ids.size() == e.size() : e.word_ids.empty());
  FUZZ_CHECK(e.ids.front() == t.cls_id() && e.ids.back() == t.sep_id());
  for (std::size_t k = 0; k < e.size(); ++k) {
    FUZZ_CHECK(e.ids[k] >= 0 && e.ids[k] < t.vocab_size());
    const std::string* text = &texts[0];
    if (words) {
      if (k == 0 || k + 1 == e.size()) {
        FUZZ_CHECK(e.word_ids[k] == -1);
        continue;
      }
      FUZZ_CHECK(e.word_ids[k] >= 0 && static_cast<std::size_t>(e.word_ids[k]) < texts.size());
      FUZZ_CHECK(k == 1 || e.word_ids[k] >= e.word_ids[k - 1]);
      text = &texts[static_cast<std::size_t>(e.word_ids[k])];
    }
    const auto& cp = e.offsets[k];
    const auto& b = e.byte_offsets[k];
    FUZZ_CHECK(cp.first <= cp.second && b.first <= b.second);
    FUZZ_CHECK(b.second <= text->size());
    FUZZ_CHECK(is_boundary(*text, b.first) && is_boundary(*text, b.second));
    FUZZ_CHECK(cp.second - cp.first <= b.second - b.first);
    FUZZ_CHECK(detail::utf8_decode(e.tokens[k]).ok());
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::vector<std::uint8_t> spiece = albertner_fuzz::read_file_or_die(albertner_fuzz::shared_path("data/albert-base-v2/spiece.model"));
  TokenizerOptions hub, reconverted, cased;
  reconverted.whitespace_split = false;
  cased.lowercase = false;
  cased.keep_accents = true;
  for (const TokenizerOptions& o : {hub, reconverted, cased}) {
    auto t = Tokenizer::from_spiece_bytes(spiece.data(), spiece.size(), o);
    if (!t.ok()) {
      std::fprintf(stderr, "fuzz_tokenizer: %s\n", t.error().what().c_str());
      std::exit(2);
    }
    tokenizers.push_back(std::make_unique<Tokenizer>(std::move(t).value()));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool valid = detail::utf8_decode(text).ok();
  std::vector<std::string> words;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i)
    if (i == text.size() || text[i] == '\n') {
      words.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  for (std::size_t v = 0; v < tokenizers.size(); ++v) {
    const Tokenizer& t = *tokenizers[v];
    auto e = t.encode(text);
    FUZZ_CHECK(e.ok() == valid);
    if (e.ok()) check_encoding(t, *e, {text}, false);
    else FUZZ_CHECK(e.error().code() == errc::invalid_input);
    if (v == 2) continue; // word lists with the two pre-tokenizer variants only
    auto w = t.encode_words(words);
    FUZZ_CHECK(w.ok() == valid);
    if (w.ok()) check_encoding(t, *w, words, true);
    else FUZZ_CHECK(w.error().code() == errc::invalid_input);
  }
  return 0;
}
