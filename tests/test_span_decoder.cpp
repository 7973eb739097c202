// The span decoder against transformers 4.21's TokenClassificationPipeline (golden/pipeline and
// golden/pipeline-reconverted, all five strategies, from the stored logits), hand-written
// grouping edge cases, its error paths, and the long-document window plan.
#include "shared.hpp"

#include <albertner/ner/iob2_viterbi.hpp>
#include <albertner/text/metaspace.hpp>
#include <albertner/ner/numpy_f32.hpp>
#include <albertner/io/json.hpp>
#include <albertner/ner/span_decoder.hpp>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using albertner::Aggregation;
using albertner::DecodeOptions;
using albertner::Entity;
using albertner::Json;
using albertner::TokenInfo;
using albertner::Window;
using albertner::WindowOptions;
using albertner::errc;

namespace {

const std::vector<std::string> kConll = {"O",     "B-PER", "I-PER",  "B-ORG", "I-ORG",
                                         "B-LOC", "I-LOC", "B-MISC", "I-MISC"};
const Aggregation kAll[] = {Aggregation::none, Aggregation::simple, Aggregation::first, Aggregation::average,
                            Aggregation::max};

std::string read_text(const std::string& path) {
  std::string text;
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[1 << 16];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
    std::fclose(f);
  }
  return text;
}

/// `convert_ids_to_tokens` of a tokenizer.json: the Unigram vocabulary's pieces in id order.
std::vector<std::string> load_vocab(const std::string& path) {
  auto json = albertner::parse_json(read_text(path));
  REQUIRE(json.ok());
  const Json* model = json->find("model");
  REQUIRE(model != nullptr);
  const Json* vocab = model->find("vocab");
  REQUIRE(vocab != nullptr);
  std::vector<std::string> pieces;
  for (const Json& entry : vocab->items()) pieces.push_back(entry.items().at(0).as_string());
  return pieces;
}

/// The first difference between our entities and the reference's list (null: the reference
/// raised, so we must return nothing), or "" when identical.
/// Score agreement over all compared entities.
struct ScoreStats {
  double max_diff = 0;
  std::size_t compared = 0, bit_identical = 0;
};

std::string compare_entities(const std::vector<Entity>& got, const Json& want, bool grouped, ScoreStats& stats) {
  if (want.is_null()) return got.empty() ? "" : "expected no entities where the reference raised";
  if (got.size() != want.size())
    return std::to_string(got.size()) + " entities, expected " + std::to_string(want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const Entity& g = got[i];
    const Json& w = want.items()[i];
    const std::string at = "entity " + std::to_string(i) + ": ";
    const std::string& label = w.find(grouped ? "entity_group" : "entity")->as_string();
    if (g.label != label) return at + "label " + g.label + " vs " + label;
    if (g.word != w.find("word")->as_string()) return at + "word '" + g.word + "' vs '" + w.find("word")->as_string() + "'";
    const double diff = std::fabs(static_cast<double>(g.score) - w.find("score")->as_double());
    if (diff > stats.max_diff) stats.max_diff = diff;
    ++stats.compared;
    if (diff == 0) ++stats.bit_identical;
    if (diff > 1e-6) return at + "score differs by " + std::to_string(diff);
    if (static_cast<std::int64_t>(g.start) != w.find("start")->as_int() ||
        static_cast<std::int64_t>(g.end) != w.find("end")->as_int() ||
        static_cast<std::int64_t>(g.byte_start) != w.find("start_bytes")->as_int() ||
        static_cast<std::int64_t>(g.byte_end) != w.find("end_bytes")->as_int())
      return at + "span differs";
    if (grouped ? g.index != -1 : g.index != w.find("index")->as_int()) return at + "index differs";
  }
  return "";
}

void check_pipeline_variant(const char* variant, const char* tokenizer_json) {
  const std::string dir = std::string("golden/") + variant;
  if (!albertner_test::have_shared(dir)) return;
  const std::vector<std::string> vocab = load_vocab(albertner_test::shared_path(tokenizer_json));
  const std::string all = read_text(albertner_test::shared_path(dir + "/cases.jsonl"));
  REQUIRE(!all.empty());

  std::size_t cases = 0, pieces_differing = 0;
  std::size_t identical[5] = {0, 0, 0, 0, 0};
  ScoreStats stats[5];
  std::size_t line_start = 0;
  while (line_start < all.size()) {
    std::size_t line_end = all.find('\n', line_start);
    if (line_end == std::string::npos) line_end = all.size();
    auto parsed = albertner::parse_json(all.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    REQUIRE(parsed.ok());
    const Json& c = *parsed;
    ++cases;
    const std::string& id = c.find("id")->as_string();
    const std::string& text = c.find("text")->as_string();
    const auto& ids = c.find("input_ids")->items();
    std::vector<TokenInfo> tokens;
    std::vector<float> logits;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      TokenInfo t;
      t.id = static_cast<std::int32_t>(ids[i].as_int());
      REQUIRE(static_cast<std::size_t>(t.id) < vocab.size());
      // The vocabulary string (HF's convert_ids_to_tokens); the fixture's `tokens` differ only for
      // <unk> (normalized text) and an lstrip'ed [MASK] (" [MASK]").
      t.piece = vocab[static_cast<std::size_t>(t.id)];
      if (t.piece != c.find("tokens")->items()[i].as_string()) ++pieces_differing;
      const Json& cp = c.find("offsets_cp")->items()[i];
      const Json& by = c.find("offsets_bytes")->items()[i];
      t.start = static_cast<std::size_t>(cp.items()[0].as_int());
      t.end = static_cast<std::size_t>(cp.items()[1].as_int());
      t.byte_start = static_cast<std::size_t>(by.items()[0].as_int());
      t.byte_end = static_cast<std::size_t>(by.items()[1].as_int());
      t.special = c.find("special_tokens_mask")->items()[i].as_int() != 0;
      tokens.push_back(t);
      for (const Json& l : c.find("logits")->items()[i].items()) logits.push_back(static_cast<float>(l.as_double()));
    }
    REQUIRE(logits.size() == tokens.size() * kConll.size());
    for (std::size_t s = 0; s < 5; ++s) {
      DecodeOptions options;
      options.aggregation = kAll[s];
      auto got = albertner::decode_entities(text, tokens, logits.data(), kConll.size(), kConll, options);
      REQUIRE_MESSAGE(got.ok(), id << ": " << (got.ok() ? "" : got.error().what()));
      for (const Entity& e : *got) CHECK(e.text == text.substr(e.byte_start, e.byte_end - e.byte_start));
      const std::string diff = compare_entities(*got, *c.find("entities")->find(albertner::aggregation_name(kAll[s])),
                                                kAll[s] != Aggregation::none, stats[s]);
      if (diff.empty()) ++identical[s];
      else MESSAGE(std::string(variant) << " " << id << " " << std::string(albertner::aggregation_name(kAll[s])) << ": " << diff);
    }
  }
  for (std::size_t s = 0; s < 5; ++s) {
    MESSAGE(std::string(variant) << "/" << std::string(albertner::aggregation_name(kAll[s])) << ": " << identical[s] << "/"
                                  << cases << " identical; scores bit-identical " << stats[s].bit_identical << "/"
                                  << stats[s].compared << ", largest difference " << stats[s].max_diff);
    CHECK(identical[s] == cases);
  }
  MESSAGE(std::string(variant) << ": " << pieces_differing
                                << " fixture tokens differ from the vocabulary piece (<unk>, [MASK])");
  CHECK(cases == 60);
}

/// A token with code point == byte offsets (ASCII text) whose logits pick `label`.
struct Tok {
  std::string piece;
  std::size_t start, end;
  std::size_t label;
  std::int32_t id = 100;
};

/// Decodes ASCII `text` whose tokens put logit 5 on their label (others 0), [CLS]/[SEP] around.
albertner::Result<std::vector<Entity>> decode_ascii(const std::string& text, const std::vector<Tok>& toks,
                                                    const std::vector<std::string>& labels, Aggregation aggregation,
                                                    std::vector<std::string> ignore = {"O"}) {
  std::vector<TokenInfo> tokens;
  std::vector<float> logits;
  tokens.push_back(TokenInfo{2, "[CLS]", 0, 0, 0, 0, true});
  logits.resize(labels.size(), 0.0f);
  for (const Tok& t : toks) {
    tokens.push_back(TokenInfo{t.id, t.piece, t.start, t.end, t.start, t.end, false});
    for (std::size_t j = 0; j < labels.size(); ++j) logits.push_back(j == t.label ? 5.0f : 0.0f);
  }
  tokens.push_back(TokenInfo{3, "[SEP]", 0, 0, 0, 0, true});
  logits.resize(logits.size() + labels.size(), 0.0f);
  DecodeOptions options;
  options.aggregation = aggregation;
  options.ignore_labels = std::move(ignore);
  return albertner::decode_entities(text, tokens, logits.data(), labels.size(), labels, options);
}

std::string summary(const std::vector<Entity>& entities) {
  std::string s;
  for (const Entity& e : entities)
    s += (s.empty() ? "" : " | ") + e.label + ":" + e.word + "[" + std::to_string(e.start) + "," + std::to_string(e.end) + ")";
  return s;
}

} // namespace

TEST_CASE("span decoder: golden pipeline, hub tokenizer, all strategies") {
  check_pipeline_variant("pipeline", "golden/tokenizer/tokenizer.json");
}

TEST_CASE("span decoder: golden pipeline, reconverted tokenizer, all strategies") {
  check_pipeline_variant("pipeline-reconverted", "golden/tokenizer-reconverted/tokenizer.json");
}

TEST_CASE("metaspace_decode follows tokenizers 0.12's Metaspace decoder") {
  using albertner::detail::metaspace_decode;
  CHECK(metaspace_decode({"\xE2\x96\x81new", "\xE2\x96\x81york"}) == "new york");
  CHECK(metaspace_decode({"\xE2\x96\x81", "(", "formerly"}) == "(formerly");
  CHECK(metaspace_decode({"\xE2\x96\x81"}) == "");
  CHECK(metaspace_decode({}) == "");
  CHECK(metaspace_decode({"fc", "barcelona"}) == "fcbarcelona");
  CHECK(metaspace_decode({"a\xE2\x96\x81" "b", "\xE2\x96\x81"}) == "a b ");
  // Only the first character of the joined text is dropped, even when the first piece is empty.
  CHECK(metaspace_decode({"", "\xE2\x96\x81x"}) == "x");
  CHECK(metaspace_decode({"\xE2\x96\x81\xE2\x96\x81x"}) == " x");
}

TEST_CASE("numpy float32 helpers") {
  using albertner::detail::pairwise_sum_f32;
  std::vector<float> ones(1000, 1.0f);
  CHECK(pairwise_sum_f32(ones.data(), 1000) == 1000.0f);
  CHECK(pairwise_sum_f32(ones.data(), 0) == 0.0f);
  // The order of the additions is numpy's: sequential below 8, then 8 lanes, a tree, the rest.
  const float a[9] = {0.1f, 3e-8f, 0.7f, 1e-7f, 0.3f, 0.2f, 5e-8f, 0.9f, 0.33f};
  CHECK(pairwise_sum_f32(a, 3) == (0.0f + a[0] + a[1]) + a[2]);
  const float tree = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  CHECK(pairwise_sum_f32(a, 9) == tree + a[8]);
  // numpy's SIMD exp stays within 2.5 ulp of the true value.
  for (float x = -87.0f; x <= 0.0f; x += 0.0137f) {  // results above the denormals
    const double want = std::exp(static_cast<double>(x));
    CHECK(std::fabs(albertner::detail::numpy_exp_f32(x) - want) <= 3e-7 * want);
  }
  CHECK(albertner::detail::numpy_exp_f32(0.0f) == 1.0f);
  CHECK(albertner::detail::numpy_exp_f32(-200.0f) == 0.0f);
  float probs[3];
  const float logits[3] = {1.0f, 2.0f, 3.0f};
  albertner::detail::softmax_f32(logits, 3, probs);
  CHECK(std::fabs(probs[2] - 0.66524096f) < 1e-7f);
  CHECK(albertner::detail::argmax_f32(logits, 3) == 2);
  const float tie[3] = {1.0f, 3.0f, 3.0f};
  CHECK(albertner::detail::argmax_f32(tie, 3) == 1);
}

TEST_CASE("parse_aggregation and aggregation_name") {
  for (Aggregation a : kAll) {
    auto parsed = albertner::parse_aggregation(albertner::aggregation_name(a));
    REQUIRE(parsed.ok());
    CHECK(*parsed == a);
  }
  auto upper = albertner::parse_aggregation("AVERAGE");
  REQUIRE(upper.ok());
  CHECK(*upper == Aggregation::average);
  auto bad = albertner::parse_aggregation("mean");
  REQUIRE(!bad.ok());
  CHECK(bad.error().code() == errc::invalid_input);
}

TEST_CASE("group_entities: B/I/O rules") {
  const std::string text = "aa bb cc dd ee";
  auto tok = [](const char* piece, std::size_t start, std::size_t label) { return Tok{piece, start, start + 2, label}; };
  const char* p[] = {"\xE2\x96\x81" "aa", "\xE2\x96\x81" "bb", "\xE2\x96\x81" "cc", "\xE2\x96\x81" "dd", "\xE2\x96\x81" "ee"};

  // B after B never merges; I continues a same-tag B/I group; I after another tag starts one.
  auto r = decode_ascii(text, {tok(p[0], 0, 1), tok(p[1], 3, 1), tok(p[2], 6, 2), tok(p[3], 9, 4), tok(p[4], 12, 2)},
                        kConll, Aggregation::simple);
  REQUIRE(r.ok());
  CHECK(summary(*r) == "PER:aa[0,2) | PER:bb cc[3,8) | ORG:dd[9,11) | PER:ee[12,14)");

  // I after O starts a group of its own; the O group is dropped by the default ignore_labels.
  r = decode_ascii(text, {tok(p[0], 0, 0), tok(p[1], 3, 0), tok(p[2], 6, 6), tok(p[3], 9, 6), tok(p[4], 12, 0)},
                   kConll, Aggregation::simple);
  REQUIRE(r.ok());
  CHECK(summary(*r) == "LOC:cc dd[6,11)");

  // With no ignore_labels, consecutive O tokens form one O group and are returned.
  r = decode_ascii(text, {tok(p[0], 0, 0), tok(p[1], 3, 0), tok(p[2], 6, 6), tok(p[3], 9, 6), tok(p[4], 12, 0)},
                   kConll, Aggregation::simple, {});
  REQUIRE(r.ok());
  CHECK(summary(*r) == "O:aa bb[0,5) | LOC:cc dd[6,11) | O:ee[12,14)");
  r = decode_ascii(text, {tok(p[0], 0, 0), tok(p[1], 3, 6)}, kConll, Aggregation::none, {});
  REQUIRE(r.ok());
  CHECK(summary(*r) == "O:\xE2\x96\x81" "aa[0,2) | I-LOC:\xE2\x96\x81" "bb[3,5)");
  CHECK((*r)[0].index == 1);
  CHECK((*r)[1].index == 2);

  // The group score is the mean of the members' scores.
  r = decode_ascii(text, {tok(p[0], 0, 1), tok(p[1], 3, 2)}, kConll, Aggregation::simple);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  auto n = decode_ascii(text, {tok(p[0], 0, 1), tok(p[1], 3, 2)}, kConll, Aggregation::none);
  REQUIRE(n.ok());
  REQUIRE(n->size() == 2);
  CHECK((*r)[0].score == doctest::Approx(((*n)[0].score + (*n)[1].score) / 2).epsilon(1e-7));
  CHECK((*r)[0].index == -1);
  CHECK((*r)[0].text == "aa bb");
}

TEST_CASE("group_entities: labels without B-/I- prefixes") {
  const std::vector<std::string> generic = {"LABEL_0", "LABEL_1", "LABEL_2"};
  const std::string text = "aa bb cc dd";
  auto tok = [](std::size_t start, std::size_t label) { return Tok{"x", start, start + 2, label}; };
  // A generic label counts as I-<label>: equal neighbours merge, the group keeps the whole name,
  // and "O" in ignore_labels does not drop LABEL_0.
  auto r = decode_ascii(text, {tok(0, 1), tok(3, 1), tok(6, 2), tok(9, 0)}, generic, Aggregation::simple);
  REQUIRE(r.ok());
  CHECK(summary(*r) == "LABEL_1:xx[0,5) | LABEL_2:x[6,8) | LABEL_0:x[9,11)");
  // entity_group is the part after the last '-' (4.21's split("-")[-1]), the tag after "B-".
  const std::vector<std::string> dashed = {"O", "B-FOO-BAR", "I-FOO-BAR"};
  r = decode_ascii(text, {tok(0, 1), tok(3, 2)}, dashed, Aggregation::simple);
  REQUIRE(r.ok());
  CHECK(summary(*r) == "BAR:xx[0,5)");
}

TEST_CASE("word aggregation: first, average, max and the subword heuristic") {
  // "ab cd": ▁a [0,1] + b [1,2] form one word, ▁c [3,4] + d [4,5] another.
  const std::vector<std::string> labels = {"O", "B-PER", "B-LOC"};
  std::vector<TokenInfo> tokens = {
      {2, "[CLS]", 0, 0, 0, 0, true},
      {10, "\xE2\x96\x81" "a", 0, 1, 0, 1, false}, {11, "b", 1, 2, 1, 2, false},
      {12, "\xE2\x96\x81" "c", 3, 4, 3, 4, false}, {13, "d", 4, 5, 4, 5, false},
      {3, "[SEP]", 0, 0, 0, 0, true}};
  const std::vector<float> logits = {0, 0, 0,
                                     0, 1, 0,    // a: PER, weakly
                                     0, 0, 3,    // b: LOC, strongly
                                     0, 2, 1.9f, // c: PER by a hair
                                     0, 0, 2,    // d: LOC
                                     0, 0, 0};
  auto run = [&](Aggregation a) {
    DecodeOptions o;
    o.aggregation = a;
    auto r = albertner::decode_entities("ab cd", tokens, logits.data(), 3, labels, o);
    REQUIRE(r.ok());
    return summary(*r);
  };
  CHECK(run(Aggregation::first) == "PER:ab[0,2) | PER:cd[3,5)");
  CHECK(run(Aggregation::max) == "LOC:ab[0,2) | LOC:cd[3,5)");
  CHECK(run(Aggregation::average) == "LOC:ab[0,2) | LOC:cd[3,5)");

  // Only an ASCII space starts a word: after a no-break space (2 bytes) the token is a subword.
  const std::string nbsp = "a\xC2\xA0" "b";
  std::vector<TokenInfo> t2 = {{10, "\xE2\x96\x81" "a", 0, 1, 0, 1, false}, {12, "\xE2\x96\x81" "b", 2, 3, 3, 4, false}};
  const std::vector<float> l2 = {0, 1, 0, 0, 0, 1};
  DecodeOptions o;
  o.aggregation = Aggregation::first;
  auto r = albertner::decode_entities(nbsp, t2, l2.data(), 3, labels, o);
  REQUIRE(r.ok());
  CHECK(summary(*r) == "PER:a b[0,3)");
  CHECK((*r)[0].byte_end == 4);
  CHECK((*r)[0].text == nbsp);

  // <unk>: the word is the original text and always starts a word.
  const std::string emoji = "x\xF0\x9F\x98\x80y";
  std::vector<TokenInfo> t3 = {{10, "\xE2\x96\x81x", 0, 1, 0, 1, false}, {1, "<unk>", 1, 2, 1, 5, false},
                               {14, "y", 2, 3, 5, 6, false}};
  const std::vector<float> l3 = {0, 1, 0, 0, 1, 0, 0, 1, 0};
  r = albertner::decode_entities(emoji, t3, l3.data(), 3, labels, o);
  REQUIRE(r.ok());
  CHECK(summary(*r) == "PER:x[0,1) | PER:\xF0\x9F\x98\x80y[1,3)");
  o.aggregation = Aggregation::none;
  r = albertner::decode_entities(emoji, t3, l3.data(), 3, labels, o);
  REQUIRE(r.ok());
  CHECK((*r)[1].word == "\xF0\x9F\x98\x80");
}

TEST_CASE("constrained decoding: the most probable valid IOB2 sequence") {
  using albertner::detail::iob2_viterbi;
  auto path = [](const std::vector<std::vector<float>>& probs, const std::vector<std::string>& labels) {
    std::vector<const float*> rows;
    for (const auto& p : probs) rows.push_back(p.data());
    return iob2_viterbi(rows, labels);
  };
  const std::vector<std::string> L = {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
  // A valid argmax path is kept as it is.
  CHECK(path({{0.1f, 0.8f, 0.05f, 0.05f, 0.0f}, {0.1f, 0.1f, 0.7f, 0.05f, 0.05f}, {0.9f, 0.0f, 0.0f, 0.1f, 0.0f}}, L) ==
        std::vector<std::size_t>{1, 2, 0});
  // I-LOC cannot start a sentence nor follow B-PER; the best valid sequences replace them.
  CHECK(path({{0.3f, 0.0f, 0.0f, 0.2f, 0.5f}}, L) == std::vector<std::size_t>{0});
  CHECK(path({{0.3f, 0.0f, 0.0f, 0.35f, 0.35f}}, L) == std::vector<std::size_t>{3});
  CHECK(path({{0.0f, 0.9f, 0.0f, 0.1f, 0.0f}, {0.0f, 0.0f, 0.4f, 0.0f, 0.6f}}, L) == std::vector<std::size_t>{1, 2});
  // ... or, when B-LOC is likely enough at the first word, the other way round.
  CHECK(path({{0.0f, 0.55f, 0.0f, 0.45f, 0.0f}, {0.0f, 0.0f, 0.1f, 0.0f, 0.9f}}, L) == std::vector<std::size_t>{3, 4});
  // Zero probabilities still rank (a floor, not -inf), and empty input gives an empty path.
  CHECK(path({{0.0f, 0.0f, 0.0f, 0.0f, 1.0f}}, L) == std::vector<std::size_t>{0});
  CHECK(path({}, L).empty());
  // Labels without a matching B- (or without a prefix) are not constrained.
  CHECK(path({{0.1f, 0.9f}}, {"O", "I-X"}) == std::vector<std::size_t>{1});
  CHECK(path({{0.1f, 0.2f, 0.7f}}, {"LABEL_0", "LABEL_1", "LABEL_2"}) == std::vector<std::size_t>{2});

  // Through decode_entities: tokens (simple) and words (first), off by default.
  const std::vector<TokenInfo> tokens = {{2, "[CLS]", 0, 0, 0, 0, true},
                                         {10, "\xE2\x96\x81" "aa", 0, 2, 0, 2, false},
                                         {11, "\xE2\x96\x81" "bb", 3, 5, 3, 5, false},
                                         {3, "[SEP]", 0, 0, 0, 0, true}};
  const std::vector<float> logits = {0, 0, 0, 0, 0,        // [CLS]
                                     0, 4, 0, 1, 0,        // aa: B-PER
                                     0, 0, 2.5f, 0, 3.0f,  // bb: I-LOC, then I-PER
                                     0, 0, 0, 0, 0};       // [SEP]
  for (Aggregation a : {Aggregation::simple, Aggregation::first}) {
    DecodeOptions o;
    o.aggregation = a;
    auto r = albertner::decode_entities("aa bb", tokens, logits.data(), 5, L, o);
    REQUIRE(r.ok());
    CHECK(summary(*r) == "PER:aa[0,2) | LOC:bb[3,5)");
    o.constrained = true;
    r = albertner::decode_entities("aa bb", tokens, logits.data(), 5, L, o);
    REQUIRE(r.ok());
    // (first joins the grouped words' `word` without spaces, as the pipeline; the offsets are right)
    CHECK(summary(*r) == (a == Aggregation::simple ? "PER:aa bb[0,5)" : "PER:aabb[0,5)"));
    CHECK((*r)[0].text == "aa bb");
  }
}

TEST_CASE("empty text gives no entities for every strategy") {
  for (Aggregation a : kAll) {
    auto r = decode_ascii("", {}, kConll, a);
    REQUIRE(r.ok());
    CHECK(r->empty());
    DecodeOptions o;
    o.aggregation = a;
    auto bare = albertner::decode_entities("", {}, nullptr, kConll.size(), kConll, o);
    REQUIRE(bare.ok());
    CHECK(bare->empty());
  }
}

TEST_CASE("decode_entities rejects inconsistent input") {
  const std::vector<std::string> labels = {"O", "B-PER"};
  const std::vector<float> logits = {0, 1, 0, 1};
  auto run = [&](const std::string& text, std::vector<TokenInfo> tokens, const float* l = nullptr,
                 std::size_t num_labels = 2) {
    return albertner::decode_entities(text, tokens, l ? l : logits.data(), num_labels, labels, DecodeOptions{});
  };
  auto expect = [](const albertner::Result<std::vector<Entity>>& r, errc code) {
    REQUIRE(!r.ok());
    CHECK(r.error().code() == code);
  };
  expect(run("ab", {{5, "a", 0, 3, 0, 3, false}}), errc::invalid_input);                 // past the end
  expect(run("ab", {{5, "a", 1, 0, 1, 0, false}}), errc::invalid_input);                 // end before start
  expect(run("\xC3\xA9" "b", {{5, "b", 1, 2, 1, 2, false}}), errc::invalid_input);       // bytes disagree
  expect(run("a\xFF", {{5, "a", 0, 1, 0, 1, false}}), errc::invalid_input);             // invalid UTF-8
  expect(run("a\xED\xA0\x80", {{5, "a", 0, 1, 0, 1, false}}), errc::invalid_input);     // surrogate
  expect(run("ab", {{5, "b", 1, 2, 1, 2, false}, {5, "a", 0, 1, 0, 1, false}}), errc::invalid_input);  // backwards
  const float nan_logits[2] = {0, std::nanf("")};
  expect(run("a", {{5, "a", 0, 1, 0, 1, false}}, nan_logits), errc::invalid_input);
  const float inf_logits[2] = {0, HUGE_VALF};
  expect(run("a", {{5, "a", 0, 1, 0, 1, false}}, inf_logits), errc::invalid_input);
  expect(run("a", {{5, "a", 0, 1, 0, 1, false}}, nullptr, 3), errc::shape);              // 2 labels, 3 logits
  expect(albertner::decode_entities("a", {{5, "a", 0, 1, 0, 1, false}}, nullptr, 2, labels, DecodeOptions{}),
         errc::shape);
  expect(albertner::decode_entities("", {}, nullptr, 0, {}, DecodeOptions{}), errc::shape);
  // Special tokens' offsets are not looked at (pads may carry anything).
  auto ok = run("a", {{0, "<pad>", 7, 9, 7, 9, true}, {5, "a", 0, 1, 0, 1, false}});
  REQUIRE(ok.ok());
  CHECK(summary(*ok) == "PER:a[0,1)");
}

TEST_CASE("plan_windows and assign_tokens_to_windows") {
  const WindowOptions defaults;
  // A document that fits the model is one window, an empty one too.
  for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(510)}) {
    auto w = albertner::plan_windows(n, defaults);
    REQUIRE(w.ok());
    REQUIRE(w->size() == 1);
    CHECK((*w)[0].begin == 0);
    CHECK((*w)[0].end == n);
  }
  // The 632-token paragraph of the golden set, which 4.21 truncates at 510 content tokens.
  auto w = albertner::plan_windows(632, defaults);
  REQUIRE(w.ok());
  REQUIRE(w->size() == 2);
  CHECK((*w)[0].begin == 0);
  CHECK((*w)[0].end == 510);
  CHECK((*w)[1].begin == 122);
  CHECK((*w)[1].end == 632);

  struct Setting { std::size_t n, window, overlap; };
  for (const Setting& s : {Setting{511, 512, 128}, Setting{5000, 512, 128}, Setting{1021, 512, 0},
                           Setting{100, 3, 0}, Setting{97, 10, 7}, Setting{2048, 128, 32}}) {
    CAPTURE(s.n);
    CAPTURE(s.window);
    auto plan = albertner::plan_windows(s.n, WindowOptions{s.window, s.overlap});
    REQUIRE(plan.ok());
    const std::vector<Window>& ws = *plan;
    CHECK(ws.front().begin == 0);
    CHECK(ws.back().end == s.n);
    for (std::size_t i = 0; i < ws.size(); ++i) {
      CHECK(ws[i].end - ws[i].begin == s.window - 2);  // every window is full (n > window - 2 here)
      if (i > 0) {
        CHECK(ws[i].begin > ws[i - 1].begin);
        CHECK(ws[i - 1].end >= ws[i].begin + s.overlap);  // at least `overlap` tokens shared
      }
    }
    const std::vector<std::size_t> owner = albertner::assign_tokens_to_windows(ws, s.n);
    REQUIRE(owner.size() == s.n);
    for (std::size_t t = 0; t < s.n; ++t) {
      REQUIRE(owner[t] < ws.size());
      const Window& mine = ws[owner[t]];
      REQUIRE(mine.begin <= t);
      REQUIRE(t < mine.end);
      // Brute force: no window holds t more centrally, and no earlier one equally centrally.
      auto centrality = [&](const Window& win) {
        const std::size_t left = t - win.begin, right = win.end - 1 - t;
        return left < right ? left : right;
      };
      for (std::size_t k = 0; k < ws.size(); ++k) {
        if (t < ws[k].begin || t >= ws[k].end) continue;
        CHECK(centrality(ws[k]) <= centrality(mine));
        if (k < owner[t]) CHECK(centrality(ws[k]) < centrality(mine));
      }
    }
    CHECK(owner.front() == 0);
    CHECK(owner.back() == ws.size() - 1);
  }

  // Hand-made windows: a token no window covers is reported as windows.size().
  const std::vector<std::size_t> owner = albertner::assign_tokens_to_windows({{0, 2}, {4, 6}}, 6);
  CHECK(owner == std::vector<std::size_t>{0, 0, 2, 2, 1, 1});

  auto tiny = albertner::plan_windows(10, WindowOptions{2, 0});
  REQUIRE(!tiny.ok());
  CHECK(tiny.error().code() == errc::invalid_input);
  auto wide = albertner::plan_windows(10, WindowOptions{512, 510});
  REQUIRE(!wide.ok());
  CHECK(wide.error().code() == errc::invalid_input);
  CHECK(albertner::plan_windows(10, WindowOptions{512, 509}).ok());
}
