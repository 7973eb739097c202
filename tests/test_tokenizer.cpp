// The tokenizer against Hugging Face tokenizers' own output (golden/tokenizer: hub tokenizer.json,
// golden/tokenizer-reconverted: Metaspace-only), transformers' albert test vectors, offset
// invariants on random Unicode, error paths, and reading options from tokenizer.json.
#include "shared.hpp"

#include <albertner/io/json.hpp>
#include <albertner/text/tokenizer.hpp>

#include <sentencepiece_processor.h>

#include <cctype>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

using albertner::Encoding;
using albertner::Json;
using albertner::Tokenizer;
using albertner::TokenizerOptions;
using albertner::errc;

namespace {

std::string read_text(const std::string& path) {
  std::string text;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  return text;
}

std::vector<Json> read_jsonl(const std::string& path) {
  std::vector<Json> out;
  const std::string text = read_text(path);
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (end > pos) {
      auto j = albertner::parse_json(text.data() + pos, end - pos);
      REQUIRE_MESSAGE(j.ok(), (path + ": " + (j.ok() ? std::string() : j.error().what())));
      out.push_back(std::move(j).value());
    }
    pos = end + 1;
  }
  return out;
}

Json read_json(const std::string& path) {
  auto j = albertner::parse_json(read_text(path));
  REQUIRE_MESSAGE(j.ok(), (path + ": " + (j.ok() ? std::string() : j.error().what())));
  return std::move(j).value();
}

const std::string kSpiece = "data/albert-base-v2/spiece.model";

Tokenizer load(bool whitespace_split, bool keep_accents = false, bool lowercase = true) {
  TokenizerOptions o;
  o.whitespace_split = whitespace_split;
  o.keep_accents = keep_accents;
  o.lowercase = lowercase;
  auto t = Tokenizer::from_spiece_file(albertner_test::shared_path(kSpiece), o);
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.error().what()));
  return std::move(t).value();
}

std::vector<std::int32_t> ints(const Json& a) {
  std::vector<std::int32_t> out;
  for (const Json& v : a.items()) out.push_back(v.is_null() ? -1 : static_cast<std::int32_t>(v.as_int()));
  return out;
}
std::vector<std::string> strings(const Json& a) {
  std::vector<std::string> out;
  for (const Json& v : a.items()) out.push_back(v.as_string());
  return out;
}
std::vector<std::pair<std::size_t, std::size_t>> spans(const Json& a) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (const Json& v : a.items())
    out.emplace_back(static_cast<std::size_t>(v.items()[0].as_int()), static_cast<std::size_t>(v.items()[1].as_int()));
  return out;
}

/// Encodes every case of `folder`/`file` and counts the identical ones; prints the first misses.
void check_golden(const std::string& variant, const std::string& folder, const std::string& file, bool whitespace_split) {
  const Tokenizer t = load(whitespace_split);
  const std::vector<Json> cases = read_jsonl(albertner_test::shared_path(folder + "/" + file));
  REQUIRE(!cases.empty());
  std::size_t same = 0, shown = 0;
  for (const Json& c : cases) {
    const bool text_mode = c.find("text") != nullptr;
    auto e = text_mode ? t.encode(c.find("text")->as_string()) : t.encode_words(strings(*c.find("words")));
    REQUIRE(e.ok());
    std::vector<std::uint8_t> no_mask(e->size(), 0);
    no_mask.front() = no_mask.back() = 1;
    bool ok = e->ids == ints(*c.find("input_ids")) && e->tokens == strings(*c.find("tokens")) && e->special_tokens_mask.size() == e->size();
    if (text_mode) {
      std::vector<std::uint8_t> mask;
      for (std::int32_t m : ints(*c.find("special_tokens_mask"))) mask.push_back(static_cast<std::uint8_t>(m));
      ok = ok && e->offsets == spans(*c.find("offsets_cp")) && e->byte_offsets == spans(*c.find("offsets_bytes")) &&
           e->special_tokens_mask == mask && e->word_ids.empty();
    } else {
      ok = ok && e->word_ids == ints(*c.find("word_ids")) && e->special_tokens_mask == no_mask;
    }
    if (ok) ++same;
    else if (shown++ < 5) MESSAGE(variant << " " << file << ": differs on " << c.find("id")->as_string());
  }
  MESSAGE(variant << " " << std::string(file == "cases_text.jsonl" ? "text" : "words") << ": " << same << "/"
                  << cases.size() << " identical");
  CHECK(same == cases.size());
}

/// Offsets of `e` are spans of `text` that start and end on character boundaries, with byte and
/// code point offsets describing the same span.
void check_offsets(const std::string& text, const Encoding& e, std::size_t first, std::size_t last) {
  std::vector<std::size_t> byte_at{0}; // byte position of each code point boundary
  for (std::size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && i > 0) byte_at.push_back(i);
  if (!text.empty()) byte_at.push_back(text.size());
  const std::size_t n_chars = byte_at.size() - 1;
  for (std::size_t k = first; k < last; ++k) {
    const auto [s, t] = e.offsets[k];
    REQUIRE(s <= t);
    REQUIRE(t <= n_chars);
    CHECK(e.byte_offsets[k].first == byte_at[s]);
    CHECK(e.byte_offsets[k].second == byte_at[t]);
  }
}

} // namespace

TEST_CASE("tokenizer: golden hub variant (WhitespaceSplit + Metaspace)") {
  if (!albertner_test::have_shared("golden/tokenizer")) return;
  check_golden("hub", "golden/tokenizer", "cases_text.jsonl", true);
  check_golden("hub", "golden/tokenizer", "cases_words.jsonl", true);
}

TEST_CASE("tokenizer: golden reconverted variant (Metaspace only)") {
  if (!albertner_test::have_shared("golden/tokenizer-reconverted")) return;
  check_golden("reconverted", "golden/tokenizer-reconverted", "cases_text.jsonl", false);
  check_golden("reconverted", "golden/tokenizer-reconverted", "cases_words.jsonl", false);
}

TEST_CASE("tokenizer: vocabulary and scores equal tokenizer.json's Unigram model") {
  if (!albertner_test::have_shared("golden/tokenizer")) return;
  const Json tj = read_json(albertner_test::shared_path("golden/tokenizer/tokenizer.json"));
  const Json& vocab = *tj.find("model")->find("vocab");
  const Tokenizer t = load(true);
  REQUIRE(static_cast<std::size_t>(t.vocab_size()) == vocab.size());
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(albertner_test::shared_path(kSpiece)).ok());
  std::size_t penalized = 0, same = 0;
  for (std::int32_t id = 0; id < t.vocab_size(); ++id) {
    const Json& entry = vocab.items()[static_cast<std::size_t>(id)];
    const double score = albertner::detail::albert_piece_score(t.id_to_piece(id), sp.GetScore(id));
    penalized += score < sp.GetScore(id) ? 1 : 0;
    same += t.id_to_piece(id) == entry.items()[0].as_string() && score == entry.items()[1].as_double() ? 1 : 0;
  }
  CHECK(same == vocab.size());
  CHECK(penalized == 141);
  CHECK(t.unk_id() == 1);
  CHECK(t.pad_id() == 0);
  CHECK(t.cls_id() == 2);
  CHECK(t.sep_id() == 3);
  CHECK(t.id_to_piece(-1).empty());
  CHECK(t.id_to_piece(t.vocab_size()).empty());
}

TEST_CASE("tokenizer: transformers' albert test vectors") {
  if (!albertner_test::have_shared(kSpiece)) return;
  for (bool whitespace_split : {true, false}) {
    const Tokenizer t = load(whitespace_split);
    struct Vector {
      const char* text;
      std::vector<std::int32_t> ids;
    };
    const Vector vectors[] = {
        {"The quick brown fox jumps over the lazy dog.", {2, 14, 2231, 886, 2385, 17659, 84, 14, 16792, 1952, 9, 3}},
        {"hello world, this is albert.", {2, 10975, 126, 15, 48, 25, 2953, 9, 3}},
        {"BERT is designed to pre-train deep bidirectional representations from unlabeled text by jointly "
         "conditioning on both left and right context in all layers.",
         {2, 11502, 25, 1006, 20, 782, 8, 11809, 855, 1732, 19393, 18667, 37, 367, 21018, 69, 1854, 34, 11860, 19124,
          27, 156, 225, 17, 193, 4141, 19, 65, 9124, 9, 3}},
        {"Transformers (formerly known as pytorch-transformers and pytorch-pretrained-bert) provides general-purpose "
         "architectures (BERT, GPT-2, RoBERTa, XLM, DistilBert, XLNet...) for Natural Language Understanding (NLU) and "
         "Natural Language Generation (NLG) with over 32+ pretrained models in 100+ languages and deep "
         "interoperability between Jax, PyTorch and TensorFlow.",
         {2,    21970, 13,   5,     6092,  167,  28,    7103, 2153, 673,  8,     7028,  12051, 18,   17,   7103,  2153,
          673,  8,     3515, 18684, 8,     4461, 6,     1927, 297,  8,    12060, 2607,  18,    13,   5,    4461,  15,
          10538, 38,   8,    135,   15,    822,  58,    15,   993,  10363, 15,   1460,  8005,  4461,  15,   993,  255,
          2328, 9,     9,    9,     6,     26,   1112,  816,  3260, 13,    5,    103,   2377,  6,     17,   1112, 816,
          2782, 13,    5,    103,   10641, 6,    29,    84,   2512, 2430,  782,  18684, 2761,  19,    808,  2430, 2556,
          17,   855,   1480, 9477,  4091,  128,  11712, 15,   7103, 2153,  673,  17,    24883, 9990,  9,    3}},
    };
    for (const Vector& v : vectors) {
      auto e = t.encode(v.text);
      REQUIRE(e.ok());
      CHECK(e->ids == v.ids);
      // Decoding the content tokens gives back the lower-cased text.
      const std::vector<std::string> content(e->tokens.begin() + 1, e->tokens.end() - 1);
      std::string lower = v.text;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      CHECK(t.decode_tokens(content) == lower);
    }
  }
  // The spm-level vectors of test_tokenization_albert.py use keep_accents=True.
  const Tokenizer keep = load(true, true);
  auto a = keep.encode("This is a test");
  REQUIRE(a.ok());
  CHECK(a->ids == std::vector<std::int32_t>{2, 48, 25, 21, 1289, 3});
  auto b = keep.encode("I was born in 92000, and this is falsé.");
  REQUIRE(b.ok());
  CHECK(b->ids == std::vector<std::int32_t>{2, 31, 23, 386, 19, 561, 3050, 15, 17, 48, 25, 8256, 18, 1, 9, 3});
  // Without keep_accents, é loses its accent and is no longer unknown.
  auto c = load(true).encode("falsé");
  REQUIRE(c.ok());
  CHECK(c->tokens == std::vector<std::string>{"[CLS]", "▁false", "[SEP]"});
  CHECK(c->offsets[1] == std::pair<std::size_t, std::size_t>{0, 5});
}

TEST_CASE("tokenizer: special tokens, empty input and decoding") {
  if (!albertner_test::have_shared(kSpiece)) return;
  const Tokenizer hub = load(true), reconverted = load(false);
  for (const Tokenizer* t : {&hub, &reconverted}) {
    auto e = t->encode("a [MASK] b");
    REQUIRE(e.ok());
    CHECK(e->ids == std::vector<std::int32_t>{2, 21, 4, 334, 3});
    CHECK(e->tokens[2] == " [MASK]");
    CHECK(e->offsets[2] == std::pair<std::size_t, std::size_t>{1, 8});
    CHECK(e->special_tokens_mask == std::vector<std::uint8_t>{1, 0, 0, 0, 1});
    auto empty = t->encode("");
    REQUIRE(empty.ok());
    CHECK(empty->ids == std::vector<std::int32_t>{2, 3});
    auto none = t->encode_words({});
    REQUIRE(none.ok());
    CHECK(none->word_ids == std::vector<std::int32_t>{-1, -1});
  }
  // Only the reconverted variant keeps a lone ▁ for trailing whitespace.
  CHECK(hub.encode("x ")->ids == std::vector<std::int32_t>{2, 993, 3});
  CHECK(reconverted.encode("x ")->ids == std::vector<std::int32_t>{2, 993, 13, 3});
  // Word offsets are relative to each word.
  auto w = hub.encode_words({"Hello", "wörld"});
  REQUIRE(w.ok());
  CHECK(w->word_ids.front() == -1);
  CHECK(w->word_ids.back() == -1);
  CHECK(w->offsets[1] == std::pair<std::size_t, std::size_t>{0, 5});
  CHECK(w->byte_offsets.back() == std::pair<std::size_t, std::size_t>{0, 0});
  CHECK(hub.decode_tokens({"▁", "(", "x", ")", "▁new", "▁york"}) == "(x) new york");
  CHECK(hub.decode_tokens({"▁"}).empty());
}

TEST_CASE("tokenizer: offsets stay on character boundaries for random Unicode") {
  if (!albertner_test::have_shared(kSpiece)) return;
  const std::vector<std::u32string> pool = {
      U"a", U"Z", U"q", U"7", U"0", U",", U".", U"-", U"(", U"\"", U"'", U"`", U"``", U"''", U"$", U"–", U"€", U"£",
      U"é", U"Å", U"ß", U"İ", U"ı", U"Σ", U"ǅ", U"\u0301", U"\u0316", U"\u0345", U"\u20E3", U"\uFE0F", U"e\u0301\u0316",
      U"中", U"文", U"日本", U"한", U"\u1100\u1161", U"ﬃ", U"½", U"①", U"²", U"ｆ", U"№", U"\U0001F600", U"\U0001F44D\U0001F3FD",
      U"\U0001F468\u200D\U0001F469", U"\U0001F1FA\U0001F1F8", U" ", U"  ", U"\t", U"\n", U"\r\n", U"\r", U"\x0b", U"\x0c",
      U"\u0085", U"\u00A0", U"\u1680", U"\u2002", U"\u200B", U"\u200C", U"\u200D", U"\u2028", U"\u3000", U"\uFEFF",
      U"\u00AD", U"\u2581", U"\x01", U"\x07", U"\x1b", U"\x7f", U"\u009F", U"\U000E0001", U"[MASK]", U"[CLS]", U"[SEP]",
      U"<pad>", U"<unk>", U"[mask]", U"\uFFFD", U"\U0010FFFD", U"\u0E33", U"\u0BCA"};
  std::mt19937 rng(20240611);
  std::vector<Tokenizer> tokenizers;
  for (bool ws : {true, false})
    for (bool keep : {false, true})
      for (bool lower : {true, false}) tokenizers.push_back(load(ws, keep, lower));
  for (int round = 0; round < 600; ++round) {
    std::u32string text;
    const int n = static_cast<int>(rng() % 24);
    for (int k = 0; k < n; ++k) {
      if (rng() % 8 == 0) { // any scalar value
        char32_t c = static_cast<char32_t>(rng() % 0x110000);
        if (c >= 0xD800 && c <= 0xDFFF) c = U'x';
        text += c;
      } else {
        text += pool[rng() % pool.size()];
      }
    }
    std::string utf8;
    for (char32_t c : text) albertner::detail::utf8_append(utf8, c);
    for (const Tokenizer& t : tokenizers) {
      auto e = t.encode(utf8);
      REQUIRE(e.ok());
      REQUIRE(e->ids.size() == e->size());
      REQUIRE(e->tokens.size() == e->size());
      REQUIRE(e->offsets.size() == e->size());
      REQUIRE(e->byte_offsets.size() == e->size());
      REQUIRE(e->special_tokens_mask.size() == e->size());
      for (std::int32_t id : e->ids) CHECK((id >= 0 && id < t.vocab_size()));
      check_offsets(utf8, e.value(), 0, e->size());
      // The same text split into two words: offsets relative to each word.
      const std::string left = text.empty() ? std::string() : utf8.substr(0, albertner::detail::utf8_length(text[0]));
      const std::string right = utf8.substr(left.size());
      auto w = t.encode_words({left, right});
      REQUIRE(w.ok());
      REQUIRE(w->word_ids.size() == w->size());
      for (std::size_t k = 1; k + 1 < w->size(); ++k) {
        REQUIRE((w->word_ids[k] == 0 || w->word_ids[k] == 1));
        check_offsets(w->word_ids[k] == 0 ? left : right, w.value(), k, k + 1);
      }
    }
  }
}

TEST_CASE("tokenizer: errors") {
  if (!albertner_test::have_shared(kSpiece)) return;
  const Tokenizer t = load(true);
  for (const std::string& bad : {std::string("ab\xC3"), std::string("\xFF"), std::string("a\xED\xA0\x80"),
                                std::string("x\xC0\xAF"), std::string("ok \xF4\x90\x80\x80")}) {
    auto e = t.encode(bad);
    REQUIRE(!e.ok());
    CHECK(e.error().code() == errc::invalid_input);
    CHECK(e.error().message().find("byte") != std::string::npos);
  }
  auto e = t.encode("ab\xC3");
  CHECK(e.error().message().find("byte 2") != std::string::npos);
  auto w = t.encode_words({"fine", "bad\x80"});
  REQUIRE(!w.ok());
  CHECK(w.error().code() == errc::invalid_input);
  CHECK(w.error().message().find("word 1") != std::string::npos);

  const std::string garbage = "\x0a\xff\xff\xff\xff\xff";
  auto g = Tokenizer::from_spiece_bytes(garbage.data(), garbage.size(), TokenizerOptions{});
  REQUIRE(!g.ok());
  CHECK(g.error().code() == errc::format);
  const std::string model = read_text(albertner_test::shared_path(kSpiece));
  auto truncated = Tokenizer::from_spiece_bytes(model.data(), model.size() / 2, TokenizerOptions{});
  REQUIRE(!truncated.ok());
  CHECK(truncated.error().code() == errc::format);
  auto missing = Tokenizer::from_spiece_file("/nonexistent/spiece.model", TokenizerOptions{});
  REQUIRE(!missing.ok());
  CHECK(missing.error().code() == errc::io);
  auto from_bytes = Tokenizer::from_spiece_bytes(model.data(), model.size(), TokenizerOptions{});
  REQUIRE(from_bytes.ok());
  CHECK(from_bytes->encode("hello world")->ids == std::vector<std::int32_t>{2, 10975, 126, 3});
}

TEST_CASE("tokenizer: options from tokenizer.json and tokenizer_config.json") {
  using albertner::tokenizer_options_from_hf;
  const auto parse = [](const std::string& s) {
    auto j = albertner::parse_json(s);
    REQUIRE(j.ok());
    return std::move(j).value();
  };
  auto defaults = tokenizer_options_from_hf(nullptr, nullptr);
  REQUIRE(defaults.ok());
  CHECK(defaults->whitespace_split);
  CHECK(defaults->lowercase);
  CHECK(!defaults->keep_accents);
  CHECK(defaults->model_max_length == 512);

  const Json config = parse(R"({"do_lower_case": false, "keep_accents": true, "model_max_length": 256})");
  auto from_config = tokenizer_options_from_hf(nullptr, &config);
  REQUIRE(from_config.ok());
  CHECK(!from_config->lowercase);
  CHECK(from_config->keep_accents);
  CHECK(from_config->model_max_length == 256);
  const Json huge = parse(R"({"model_max_length": 1000000000000000019884624838656})");
  CHECK(tokenizer_options_from_hf(nullptr, &huge)->model_max_length == 512);
  const Json wrong = parse(R"({"do_lower_case": "yes"})");
  CHECK(tokenizer_options_from_hf(nullptr, &wrong).error().code() == errc::config);

  const Json unsupported = parse(R"({"pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}})");
  auto u = tokenizer_options_from_hf(&unsupported, nullptr);
  REQUIRE(!u.ok());
  CHECK(u.error().code() == errc::unsupported);
  CHECK(u.error().message().find("ByteLevel") != std::string::npos);
  const Json bert_norm = parse(
      R"({"normalizer": {"type": "BertNormalizer"}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}]}})");
  CHECK(tokenizer_options_from_hf(&bert_norm, nullptr).error().code() == errc::unsupported);
  const Json new_format = parse(
      R"({"normalizer": {"type": "Sequence", "normalizers": [{"type": "Precompiled", "precompiled_charsmap": ""}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true}})");
  auto nf = tokenizer_options_from_hf(&new_format, &config);
  REQUIRE(nf.ok());
  CHECK(!nf->whitespace_split);
  CHECK(!nf->lowercase); // no Lowercase step: the normalizer wins over do_lower_case
  CHECK(nf->keep_accents);
  const Json no_collapse = parse(R"({"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}})");
  CHECK(tokenizer_options_from_hf(&no_collapse, nullptr).error().code() == errc::unsupported);

  if (!albertner_test::have_shared("golden/tokenizer")) return;
  const Json hub_json = read_json(albertner_test::shared_path("golden/tokenizer/tokenizer.json"));
  auto hub = tokenizer_options_from_hf(&hub_json, nullptr);
  REQUIRE(hub.ok());
  CHECK(hub->whitespace_split);
  CHECK(hub->lowercase);
  CHECK(!hub->keep_accents);
  const Json re_json = read_json(albertner_test::shared_path("golden/tokenizer-reconverted/tokenizer.json"));
  auto re = tokenizer_options_from_hf(&re_json, nullptr);
  REQUIRE(re.ok());
  CHECK(!re->whitespace_split);
  CHECK(re->lowercase);
  CHECK(!re->keep_accents);
}
